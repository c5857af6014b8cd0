package io.airlock.daemon.dispatch;

import io.airlock.proto.v1.ErrorCode;

/** A command failed with a wire error code and an operator-readable message. */
final class CommandException extends Exception {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    CommandException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    ErrorCode code() {
        return code;
    }
}
