package io.airlock.driver;

/** What a driver can do. Callers check capabilities instead of relying on silent fallbacks. */
public enum Capability {
    EXEC("exec"),
    EXEC_STDIN("exec.stdin"),
    /** Processes on a terminal, with resize. */
    EXEC_TTY("exec.tty"),
    /** Signals delivered to a running process. */
    EXEC_SIGNAL("exec.signal"),
    FILES("files"),
    /** Tar archives into and out of the workspace. */
    FILES_ARCHIVE("files.archive"),
    NETWORK_NONE("network.none"),
    /** Outbound connections through the daemon's egress proxy, under a per-sandbox allowlist. */
    NETWORK_EGRESS_PROXY("network.egress-proxy"),
    LIMITS_MEMORY("limits.memory"),
    LIMITS_PROCESSES("limits.processes"),
    LIMITS_CPU("limits.cpu"),
    /** A size limit on the workspace. */
    LIMITS_WORKSPACE("limits.workspace"),
    SURVIVES_DAEMON_RESTART("survives-daemon-restart"),
    PAUSE("pause"),
    /** Snapshots of a sandbox, and sandboxes provisioned from them. */
    SNAPSHOT("snapshot"),
    /** Directories of the sandbox's own at absolute paths outside the workspace ({@link SandboxSpec#volumes()}), reached by the file API too. */
    VOLUMES("volumes");

    private final String wireName;

    Capability(String wireName) {
        this.wireName = wireName;
    }

    /** The name reported to the control plane in Hello. */
    public String wireName() {
        return wireName;
    }
}
