package io.airlock.driver;

/**
 * Resource bounds of a sandbox; 0 in a field means "no limit from the request" (the daemon
 * fills in policy defaults before a driver sees it).
 */
public record ResourceLimits(long memoryBytes, int maxProcesses, long cpuSeconds) {
    public static final ResourceLimits NONE = new ResourceLimits(0, 0, 0);

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
    }
}
