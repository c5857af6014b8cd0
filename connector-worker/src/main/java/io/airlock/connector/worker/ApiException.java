package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

/** A refusal from the platform's API: its HTTP status, error type and message (never a credential). */
public final class ApiException extends Exception {
    private final int status;
    private final String type;
    private final JsonNode details;

    public ApiException(int status, String type, String message, JsonNode details) {
        super(message);
        this.status = status;
        this.type = type;
        this.details = details == null ? MissingNode.getInstance() : details;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public JsonNode details() {
        return details;
    }

    /** Worth another try: the server was busy or broke, or the request timed out. Any other 4xx is final. */
    public boolean transientFailure() {
        return status == 408 || status == 429 || status >= 500 || status == 0;
    }
}
