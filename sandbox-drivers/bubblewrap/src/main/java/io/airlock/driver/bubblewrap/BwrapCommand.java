package io.airlock.driver.bubblewrap;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code bwrap} argv for one exec. Only paths appear here: the environment travels in the
 * process environment (bwrap passes it through), so values never show up in {@code ps}.
 */
public final class BwrapCommand {
    /** Host /etc entries a typical toolchain needs; the rest of /etc (secrets included) stays out. */
    private static final List<String> ETC_ALLOWLIST = List.of("/etc/alternatives", "/etc/ld.so.cache",
            "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/ssl/certs", "/etc/ca-certificates");
    private static final List<String> TOP_LEVEL_SYSTEM = List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32");
    static final String WORKSPACE = "/workspace";

    private BwrapCommand() {}

    /** @param mounts further bwrap arguments (e.g. the egress socket), placed before the command */
    static List<String> build(Path bwrap, SandboxDirectory box, List<String> volumes, String workingDir, List<String> mounts,
            List<String> argv) {
        List<String> cmd = build(bwrap, box.workspace(), box.tmp(), workingDir, argv);
        List<String> more = new ArrayList<>();
        for (int n = 0; n < volumes.size(); n++) {
            // bwrap makes the missing parents in its own root; the source is the driver's, never a path the sandbox can replace.
            more.addAll(List.of("--bind", box.volume(n).toString(), volumes.get(n)));
        }
        more.addAll(mounts);
        cmd.addAll(cmd.indexOf("--chdir"), more);
        return cmd;
    }

    /**
     * The bare bwrap argv for a workspace and /tmp (no cgroup or rlimit wrapper): what the driver
     * runs, and what benchmarks run directly as the reference.
     */
    public static List<String> build(Path bwrap, Path workspace, Path tmp, String workingDir, List<String> argv) {
        List<String> cmd = new ArrayList<>();
        cmd.add(bwrap.toString());
        cmd.addAll(List.of("--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
                "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox"));
        cmd.addAll(List.of("--ro-bind", "/usr", "/usr"));
        for (String name : TOP_LEVEL_SYSTEM) {
            Path p = Path.of("/", name);
            try {
                if (Files.isSymbolicLink(p)) {
                    cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), p.toString()));
                } else if (Files.isDirectory(p)) {
                    cmd.addAll(List.of("--ro-bind", p.toString(), p.toString()));
                }
            } catch (IOException e) {
                // unreadable link: leave it out of the sandbox
            }
        }
        for (String etc : ETC_ALLOWLIST) {
            cmd.addAll(List.of("--ro-bind-try", etc, etc));
        }
        cmd.addAll(List.of("--proc", "/proc", "--dev", "/dev"));
        cmd.addAll(List.of("--bind", workspace.toString(), WORKSPACE));
        cmd.addAll(List.of("--bind", tmp.toString(), "/tmp"));
        cmd.addAll(List.of("--chdir", workingDir.isEmpty() ? WORKSPACE : WORKSPACE + "/" + workingDir));
        cmd.add("--");
        cmd.addAll(argv);
        return cmd;
    }
}
