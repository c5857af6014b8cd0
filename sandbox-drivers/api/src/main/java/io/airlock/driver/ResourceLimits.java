package io.airlock.driver;

/**
 * Resource bounds of a sandbox; 0 in a field means "no limit from the request" (the daemon
 * fills in policy defaults before a driver sees it).
 *
 * @param workspaceBytes size of the workspace (capability {@link Capability#LIMITS_WORKSPACE})
 */
public record ResourceLimits(long memoryBytes, int maxProcesses, long cpuSeconds, long workspaceBytes) {
    public static final ResourceLimits NONE = new ResourceLimits(0, 0, 0, 0);

    public ResourceLimits {
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("memoryBytes: " + memoryBytes + " (expected: >= 0)");
        }
        if (maxProcesses < 0) {
            throw new IllegalArgumentException("maxProcesses: " + maxProcesses + " (expected: >= 0)");
        }
        if (cpuSeconds < 0) {
            throw new IllegalArgumentException("cpuSeconds: " + cpuSeconds + " (expected: >= 0)");
        }
        if (workspaceBytes < 0) {
            throw new IllegalArgumentException("workspaceBytes: " + workspaceBytes + " (expected: >= 0)");
        }
    }

    public ResourceLimits(long memoryBytes, int maxProcesses, long cpuSeconds) {
        this(memoryBytes, maxProcesses, cpuSeconds, 0);
    }

    /** "memory,processes,cpu,workspace", as drivers keep it in labels and state files. */
    public String encode() {
        return memoryBytes + "," + maxProcesses + "," + cpuSeconds + "," + workspaceBytes;
    }

    /** The inverse of {@link #encode} (the workspace field may be missing: older records). */
    public static ResourceLimits decode(String encoded) {
        String[] l = (encoded == null || encoded.isBlank() ? "0,0,0" : encoded).split(",");
        return new ResourceLimits(Long.parseLong(l[0]), Integer.parseInt(l[1]), Long.parseLong(l[2]),
                l.length > 3 ? Long.parseLong(l[3]) : 0);
    }
}
