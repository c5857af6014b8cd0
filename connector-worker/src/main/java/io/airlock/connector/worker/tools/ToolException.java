package io.airlock.connector.worker.tools;

/** A tool call refused or failed; its message goes back to the agent as an is_error result. */
public final class ToolException extends Exception {
    public ToolException(String message) {
        super(message);
    }
}
