package io.airlock.connector.worker.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * Maps the agent's file paths onto the sandbox: absolute paths under {@value #ROOT} or paths
 * relative to it become workspace-relative ones; absolute paths under one of the allowed roots
 * (the memory stores the drivers keep at their mount paths, as the SDK's {@code allowedRoots})
 * stay absolute, which the drivers' file API resolves in the sandbox's volumes. Anything else
 * ({@code ../}, another absolute path) is refused here; symbolic links are resolved, and refused
 * when they lead out, by the driver on every open. Writes into a read-only root are refused.
 */
public final class Workdir {
    /** Where the drivers mount the workspace inside the sandbox, and the shell starts. */
    public static final String ROOT = "/workspace";
    /** The workspace alone. */
    public static final Workdir WORKSPACE = new Workdir(List.of(), List.of());

    private final List<String> roots;
    private final List<String> readOnly;

    /**
     * @param roots    absolute directories outside the workspace the file tools may reach
     * @param readOnly absolute directories (anywhere) the file tools must not write in
     */
    public Workdir(List<String> roots, List<String> readOnly) {
        this.roots = List.copyOf(roots);
        this.readOnly = List.copyOf(readOnly);
    }

    /** This, with {@code root} reachable too but never written in. */
    public Workdir withReadOnlyRoot(String root) {
        List<String> r = new ArrayList<>(roots);
        r.add(root);
        List<String> ro = new ArrayList<>(readOnly);
        ro.add(root);
        return new Workdir(r, ro);
    }

    /** The path the driver takes: workspace-relative (empty for the workspace itself), or absolute in an allowed root. */
    public String path(String filePath) throws ToolException {
        if (filePath == null || filePath.isBlank()) {
            throw new ToolException("file_path: missing (expected a path in " + ROOT + ")");
        }
        if (filePath.indexOf('\0') >= 0) {
            throw new ToolException("file_path: contains a NUL byte");
        }
        String abs = normalize(filePath.startsWith("/") ? filePath : ROOT + "/" + filePath);
        if (abs == null) {
            throw refused(filePath);
        }
        if (abs.equals(ROOT)) {
            return "";
        }
        if (abs.startsWith(ROOT + "/")) {
            return abs.substring(ROOT.length() + 1);
        }
        for (String r : roots) {
            if (abs.equals(r) || abs.startsWith(r + "/")) {
                return abs;
            }
        }
        throw refused(filePath);
    }

    /** As {@link #path}, refusing a path inside a read-only root (the SDK's wording, which the tool's name prefixes). */
    public String writable(String filePath) throws ToolException {
        String p = path(filePath);
        String abs = shown(p);
        for (String r : readOnly) {
            if (abs.equals(r) || abs.startsWith(r + "/")) {
                throw new ToolException(filePath + " is inside read-only directory " + r);
            }
        }
        return p;
    }

    private ToolException refused(String filePath) {
        return new ToolException("path '" + filePath + "' is outside the working directory " + ROOT
                + (roots.isEmpty() ? "" : " and the memory stores " + String.join(", ", roots)) + " (refused)");
    }

    /** Collapses "." and "..", null when ".." would climb above the root. */
    private static String normalize(String absolute) {
        List<String> parts = new ArrayList<>();
        for (String p : absolute.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (parts.isEmpty()) {
                    return null;
                }
                parts.removeLast();
            } else {
                parts.add(p);
            }
        }
        return "/" + String.join("/", parts);
    }

    /** The workspace-relative path of an agent's path, refusing any other place (skills, the workspace's own files). */
    public static String relative(String filePath) throws ToolException {
        return WORKSPACE.path(filePath);
    }

    /** A driver path as the agent sees it inside the sandbox. */
    public static String shown(String path) {
        return path.startsWith("/") ? path : path.isEmpty() ? ROOT : ROOT + "/" + path;
    }
}
