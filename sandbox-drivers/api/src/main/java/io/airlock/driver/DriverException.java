package io.airlock.driver;

/**
 * A driver operation failed. The {@link Kind} tells the caller (and the control plane, through
 * the error code it maps to) what kind of failure it was; the message is for an operator.
 */
public final class DriverException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Failure classes; the daemon maps each to a wire error code. */
    public enum Kind {
        INVALID_ARGUMENT,
        NOT_FOUND,
        FAILED_PRECONDITION,
        RESOURCE_EXHAUSTED,
        UNAVAILABLE,
        UNIMPLEMENTED,
        INTERNAL
    }

    private final Kind kind;

    public DriverException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public DriverException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static DriverException notFound(String sandboxId) {
        return new DriverException(Kind.NOT_FOUND, "sandbox '" + sandboxId + "' does not exist");
    }
}
