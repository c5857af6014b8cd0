package io.airlock.driver;

import java.util.List;
import java.util.Set;

/**
 * A sandbox's volumes: directories of its own at absolute paths outside the workspace (a memory
 * store at its {@code mount_path}, say). The file API reaches them by absolute path, the
 * workspace by relative path; {@link #locate} tells the two apart for the drivers.
 *
 * <p>A volume may not sit where the sandbox's system lives (the host's /usr, /etc, /proc, …
 * are mounted there), on the workspace or under it, or inside another volume.
 */
public final class SandboxVolumes {
    public static final int MAX = 16;
    /** Top-level directories the drivers fill with the system; a volume there would hide or fight it. */
    private static final Set<String> SYSTEM = Set.of("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev",
            "sys", "run", "workspace");

    private SandboxVolumes() {}

    /** Where a caller's path lies: {@code volume} empty for the workspace; {@code relative} inside it, unchecked. */
    public record Location(String volume, String relative) {
        public boolean inWorkspace() {
            return volume.isEmpty();
        }

        /** How an entry {@code rel} below this location's root is named to callers (relative, or absolute in a volume). */
        public String name(String rel) {
            if (inWorkspace()) {
                return rel;
            }
            return rel.isEmpty() ? volume : volume + "/" + rel;
        }
    }

    /** Refuses a list a driver must not make, naming the path and what was expected. */
    public static void check(List<String> volumes) {
        if (volumes.size() > MAX) {
            throw new IllegalArgumentException("volumes: " + volumes.size() + " (expected: at most " + MAX + ")");
        }
        for (String v : volumes) {
            if (!clean(v)) {
                throw new IllegalArgumentException("volume '" + v + "' (expected: a clean absolute path such as /mnt/memory/notes: "
                        + "no '.', '..', empty components or trailing '/')");
            }
            String top = v.substring(1).split("/")[0];
            if (SYSTEM.contains(top)) {
                throw new IllegalArgumentException("volume '" + v + "' lies under /" + top
                        + ", which the sandbox's system or workspace occupies (expected: a path elsewhere, such as /mnt/...)");
            }
            for (String other : volumes) {
                if (!other.equals(v) && other.startsWith(v + "/")) {
                    throw new IllegalArgumentException("volume '" + other + "' lies inside volume '" + v + "' (expected: volumes apart)");
                }
            }
        }
        if (Set.copyOf(volumes).size() != volumes.size()) {
            throw new IllegalArgumentException("volumes: " + volumes + " names one path twice");
        }
    }

    /** Whether {@code path} may join {@code volumes} (the list {@link #check} would accept). */
    public static boolean fits(List<String> volumes, String path) {
        List<String> with = new java.util.ArrayList<>(volumes);
        with.add(path);
        try {
            check(with);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean clean(String v) {
        if (v == null || v.length() < 2 || !v.startsWith("/") || v.endsWith("/") || v.indexOf('\0') >= 0) {
            return false;
        }
        for (String part : v.substring(1).split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    /**
     * A relative path is in the workspace; an absolute one must lie in one of {@code volumes}.
     * The relative part is left for {@link WorkspacePaths} to check ({@code ..}, NUL, links).
     *
     * @throws DriverException FAILED_PRECONDITION for an absolute path outside every volume
     */
    public static Location locate(List<String> volumes, String path) throws DriverException {
        String p = path == null ? "" : path;
        if (!p.startsWith("/")) {
            return new Location("", p);
        }
        for (String v : volumes) {
            if (p.equals(v) || p.equals(v + "/")) {
                return new Location(v, "");
            }
            if (p.startsWith(v + "/")) {
                return new Location(v, p.substring(v.length() + 1));
            }
        }
        throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "path '" + p + "' refused: is absolute; expected a path "
                + "relative to the workspace" + (volumes.isEmpty() ? "" : " or inside one of the sandbox's volumes " + volumes));
    }
}
