package io.airlock.daemon;

/**
 * The daemon cannot start for a reason the operator can fix (the audit log is held by another
 * daemon, the admin port is taken): one line naming it, not a stack trace.
 */
public final class StartupException extends RuntimeException {
    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
