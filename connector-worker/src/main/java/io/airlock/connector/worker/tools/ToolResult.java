package io.airlock.connector.worker.tools;

/** What a tool call answers: text for the agent, and whether it is an error. */
public record ToolResult(String text, boolean isError) {
    public static ToolResult ok(String text) {
        return new ToolResult(text, false);
    }

    public static ToolResult error(String text) {
        return new ToolResult(text, true);
    }
}
