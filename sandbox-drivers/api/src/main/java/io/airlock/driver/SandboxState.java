package io.airlock.driver;

/** Where a sandbox is in its life. */
public enum SandboxState {
    PROVISIONING,
    READY,
    /** Frozen: processes keep their state but get no CPU; execs are refused until it is resumed. */
    PAUSED,
    DESTROYED,
    FAILED
}
