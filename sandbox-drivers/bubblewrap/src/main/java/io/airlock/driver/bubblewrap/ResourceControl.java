package io.airlock.driver.bubblewrap;

import io.airlock.driver.ResourceLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a sandbox's processes under its limits: a cgroup per sandbox (v2, or v1 memory and pids
 * hierarchies) when the host lets us create one, rlimits (the shell's {@code ulimit}) otherwise.
 * RLIMIT_NPROC is not a substitute for pids.max (it is per user and ignored for root), so the
 * process limit is only offered with a cgroup.
 */
final class ResourceControl {
    private static final Logger log = LoggerFactory.getLogger(ResourceControl.class);
    private static final Path CGROUP = Path.of("/sys/fs/cgroup");

    /** cgroup directories (one per hierarchy) under which sandbox groups are created. */
    private final Path v2Parent;
    private final Path v1MemoryParent;
    private final Path v1PidsParent;

    private ResourceControl(Path v2Parent, Path v1MemoryParent, Path v1PidsParent) {
        this.v2Parent = v2Parent;
        this.v1MemoryParent = v1MemoryParent;
        this.v1PidsParent = v1PidsParent;
    }

    static ResourceControl detect(String agentId) {
        String group = "airlock-" + agentId.replaceAll("[^A-Za-z0-9_-]", "_");
        if (Files.exists(CGROUP.resolve("cgroup.controllers"))) {
            Path parent = tryCreate(CGROUP.resolve(group));
            if (parent != null) {
                try {
                    Files.writeString(parent.resolve("cgroup.subtree_control"), "+memory +pids");
                    return new ResourceControl(parent, null, null);
                } catch (IOException e) {
                    log.info("cgroup v2 controllers not delegable here ({}); using rlimits", e.toString());
                }
            }
            return new ResourceControl(null, null, null);
        }
        Path memory = tryCreate(CGROUP.resolve("memory").resolve(group));
        Path pids = tryCreate(CGROUP.resolve("pids").resolve(group));
        return new ResourceControl(null, memory, pids);
    }

    private static Path tryCreate(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.isWritable(dir.resolve("cgroup.procs")) ? dir : null;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    boolean limitsMemoryByCgroup() {
        return v2Parent != null || v1MemoryParent != null;
    }

    boolean limitsProcesses() {
        return v2Parent != null || v1PidsParent != null;
    }

    /** Creates (or refreshes) the sandbox's cgroups and writes its limits. */
    void prepare(String sandboxId, ResourceLimits limits) throws IOException {
        if (v2Parent != null) {
            Path g = Files.createDirectories(v2Parent.resolve(sandboxId));
            if (limits.memoryBytes() > 0) {
                Files.writeString(g.resolve("memory.max"), Long.toString(limits.memoryBytes()));
                writeIfPresent(g.resolve("memory.swap.max"), "0");
            }
            if (limits.maxProcesses() > 0) {
                Files.writeString(g.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
            }
        }
        if (v1MemoryParent != null) {
            Path g = Files.createDirectories(v1MemoryParent.resolve(sandboxId));
            if (limits.memoryBytes() > 0) {
                Files.writeString(g.resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
            }
        }
        if (v1PidsParent != null) {
            Path g = Files.createDirectories(v1PidsParent.resolve(sandboxId));
            if (limits.maxProcesses() > 0) {
                Files.writeString(g.resolve("pids.max"), Integer.toString(limits.maxProcesses()));
            }
        }
    }

    private static void writeIfPresent(Path file, String value) throws IOException {
        if (Files.exists(file)) {
            Files.writeString(file, value);
        }
    }

    /**
     * The argv prefix that enters the sandbox's cgroups and applies rlimits, then execs the rest:
     * one shell, which moves itself into the cgroups (so no child escapes them by forking early),
     * sets the rlimits with its own {@code ulimit} and execs the command. One exec before bwrap,
     * where a shell for the cgroups and then {@code prlimit} took two (about 1.5 ms each).
     */
    List<String> wrapper(String sandboxId, ResourceLimits limits) {
        List<String> procs = new ArrayList<>();
        if (v2Parent != null) {
            procs.add(v2Parent.resolve(sandboxId).resolve("cgroup.procs").toString());
        }
        if (v1MemoryParent != null) {
            procs.add(v1MemoryParent.resolve(sandboxId).resolve("cgroup.procs").toString());
        }
        if (v1PidsParent != null) {
            procs.add(v1PidsParent.resolve(sandboxId).resolve("cgroup.procs").toString());
        }
        // Without -H or -S, ulimit sets both the soft and the hard limit, as prlimit did.
        StringBuilder script = new StringBuilder();
        if (!procs.isEmpty()) {
            script.append("IFS=:; for f in $0; do echo $$ > \"$f\" || exit 125; done; ");
        }
        script.append("ulimit -n 4096 && ulimit -c 0");
        if (limits.cpuSeconds() > 0) {
            script.append(" && ulimit -t ").append(limits.cpuSeconds());
        }
        if (limits.memoryBytes() > 0 && !limitsMemoryByCgroup()) {
            script.append(" && ulimit -v ").append(Math.max(1, limits.memoryBytes() / 1024)); // KiB
        }
        script.append(" || exit 125; exec \"$@\"");
        return new ArrayList<>(List.of("/bin/sh", "-c", script.toString(), String.join(":", procs)));
    }

    /** Kills everything left in the sandbox's cgroups and removes them. */
    void release(String sandboxId) {
        for (Path parent : new Path[] {v2Parent, v1MemoryParent, v1PidsParent}) {
            if (parent == null) {
                continue;
            }
            Path g = parent.resolve(sandboxId);
            if (!Files.isDirectory(g)) {
                continue;
            }
            killAll(g);
            try {
                Files.deleteIfExists(g);
            } catch (IOException e) {
                log.warn("could not remove cgroup {}: {}", g, e.toString());
            }
        }
    }

    /** Removes the agent's parent groups if no sandbox group is left in them (rmdir fails otherwise, harmlessly). */
    void close() {
        for (Path parent : new Path[] {v2Parent, v1MemoryParent, v1PidsParent}) {
            if (parent != null) {
                try {
                    Files.deleteIfExists(parent);
                } catch (IOException e) {
                    log.debug("keeping {}: {}", parent, e.toString());
                }
            }
        }
    }

    private static void killAll(Path group) {
        for (int attempt = 0; attempt < 50; attempt++) {
            List<String> pids;
            try {
                pids = Files.readAllLines(group.resolve("cgroup.procs"));
            } catch (IOException e) {
                return;
            }
            if (pids.isEmpty()) {
                return;
            }
            for (String pid : pids) {
                ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
