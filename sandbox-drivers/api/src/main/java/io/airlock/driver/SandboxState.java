package io.airlock.driver;

/** Where a sandbox is in its life. */
public enum SandboxState {
    PROVISIONING,
    READY,
    DESTROYED,
    FAILED
}
