package io.airlock.connector.worker.tools;

/**
 * What a tool call answers: text for the agent, and whether it is an error; {@code deniedBy}
 * names the local policy's rule when that refused it (audited as {@code policy.denied}), else null.
 */
public record ToolResult(String text, boolean isError, String deniedBy) {
    public static ToolResult ok(String text) {
        return new ToolResult(text, false, null);
    }

    public static ToolResult error(String text) {
        return new ToolResult(text, true, null);
    }

    public static ToolResult denied(String rule, String text) {
        return new ToolResult(text, true, rule);
    }
}
