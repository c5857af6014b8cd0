package io.airlock.connector.grpc.identity;

/** Enrollment failed; the message says why and what to do. */
public final class EnrollmentException extends Exception {
    private static final long serialVersionUID = 1L;

    public EnrollmentException(String message) {
        super(message);
    }

    public EnrollmentException(String message, Throwable cause) {
        super(message, cause);
    }
}
