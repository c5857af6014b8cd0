package io.airlock.driver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves a caller-supplied path inside a workspace and refuses every way out: absolute
 * paths, {@code ..} components, NUL bytes, and symbolic links (at any depth) pointing outside.
 *
 * <p>Why not just {@code normalize().startsWith(root)}: the sandbox itself can plant symlinks in
 * the workspace, so every existing component is resolved on disk. A race in which the
 * sandbox swaps a directory for a link between this check and the open remains; drivers
 * open the final component with {@link LinkOption#NOFOLLOW_LINKS} to narrow it.
 */
public final class WorkspacePaths {
    private WorkspacePaths() {}

    /**
     * @param workspace the workspace root on the host
     * @param relative  the caller's path, relative to the workspace; empty means the root
     * @return the host path, inside the workspace
     * @throws DriverException FAILED_PRECONDITION naming the path and why it was refused
     */
    public static Path resolve(Path workspace, String relative) throws DriverException {
        List<String> parts = components(relative);
        Path root;
        try {
            root = workspace.toRealPath();
        } catch (IOException e) {
            throw new DriverException(DriverException.Kind.NOT_FOUND, "workspace " + workspace + " is gone", e);
        }
        Path candidate = root;
        for (String part : parts) {
            candidate = candidate.resolve(part);
            if (Files.isSymbolicLink(candidate)) {
                Path target;
                try {
                    target = candidate.toRealPath();
                } catch (IOException e) {
                    throw refused(relative, "goes through a dangling symbolic link '" + root.relativize(candidate) + "'");
                }
                if (!target.startsWith(root)) {
                    throw refused(relative, "goes through the symbolic link '" + root.relativize(candidate)
                            + "' which points outside the workspace");
                }
            }
        }
        return candidate;
    }

    /**
     * The components of a caller's relative path, refusing NUL bytes, absolute paths and
     * {@code ..}; empty and {@code .} components are dropped. Drivers whose workspace is not a
     * host directory check symlinks themselves, component by component.
     */
    public static List<String> components(String relative) throws DriverException {
        String path = relative == null ? "" : relative;
        if (path.indexOf('\0') >= 0) {
            throw refused(path, "contains a NUL byte");
        }
        if (path.startsWith("/")) {
            throw refused(path, "is absolute; expected a path relative to the workspace");
        }
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw refused(path, "contains '..'; expected a path inside the workspace");
            }
            parts.add(part);
        }
        return parts;
    }

    static DriverException refused(String path, String why) {
        return new DriverException(DriverException.Kind.FAILED_PRECONDITION, "path '" + path + "' refused: " + why);
    }
}
