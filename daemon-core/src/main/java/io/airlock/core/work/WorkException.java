package io.airlock.core.work;

/** Work that cannot be done, with the error a connector reports and a message for the caller. */
public final class WorkException extends Exception {
    private final WorkError error;

    public WorkException(WorkError error, String message) {
        super(message);
        this.error = error;
    }

    public WorkError error() {
        return error;
    }
}
