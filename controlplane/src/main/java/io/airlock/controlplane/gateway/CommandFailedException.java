package io.airlock.controlplane.gateway;

import io.airlock.proto.v1.Error;
import io.airlock.proto.v1.ErrorCode;

/** An agent answered a command with an error, or the command could not reach the agent in time. */
public final class CommandFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Error error;

    public CommandFailedException(Error error) {
        super(error.getCode() + ": " + error.getMessage());
        this.error = error;
    }

    public CommandFailedException(ErrorCode code, String message) {
        this(Error.newBuilder().setCode(code).setMessage(message).build());
    }

    public Error error() {
        return error;
    }
}
