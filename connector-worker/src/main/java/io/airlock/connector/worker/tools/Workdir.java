package io.airlock.connector.worker.tools;

import java.nio.file.Path;

/**
 * Maps the agent's file paths onto the sandbox's workspace: absolute paths under
 * {@value #ROOT}, or paths relative to it. Anything that leaves it ({@code ../}, another absolute
 * path) is refused here; symbolic links are resolved, and refused when they lead out, by the
 * driver on every open.
 */
public final class Workdir {
    /** Where the drivers mount the workspace inside the sandbox, and the shell starts. */
    public static final String ROOT = "/workspace";

    private Workdir() {}

    /** The workspace-relative path (empty for the workspace itself). */
    public static String relative(String filePath) throws ToolException {
        if (filePath == null || filePath.isBlank()) {
            throw new ToolException("file_path: missing (expected a path in " + ROOT + ")");
        }
        if (filePath.indexOf('\0') >= 0) {
            throw new ToolException("file_path: contains a NUL byte");
        }
        Path p = Path.of(ROOT).resolve(filePath).normalize();
        if (!p.startsWith(ROOT)) {
            throw new ToolException("path '" + filePath + "' is outside the working directory " + ROOT + " (refused)");
        }
        return Path.of(ROOT).relativize(p).toString();
    }

    /** The path as the agent sees it inside the sandbox. */
    public static String shown(String relative) {
        return relative.isEmpty() ? ROOT : ROOT + "/" + relative;
    }
}
