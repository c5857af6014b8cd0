package io.airlock.core.audit;

/** The audit log could not take a record; whatever was to be recorded must not happen unrecorded. */
public final class AuditException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuditException(String message, Throwable cause) {
        super(message, cause);
    }
}
