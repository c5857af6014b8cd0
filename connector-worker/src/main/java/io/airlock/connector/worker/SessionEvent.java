package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A session's event as the worker acts on it, decoded from the platform's JSON in this one place
 * (as {@code ProtoCodec} does for gRPC), so the session's parts never pick JSON apart. A tool's
 * input stays JSON: it is the tool's to read.
 */
sealed interface SessionEvent {
    /** The event's id ("" when it has none). */
    String id();

    /** {@code agent.tool_use}; {@code thread} "" for the session's own; {@code permission} null when not evaluated. */
    record ToolUse(String id, String name, JsonNode input, String thread, String permission) implements SessionEvent {}

    /** {@code user.tool_result}: the call is answered (by this worker or another). */
    record ResultSeen(String id, String toolUseId) implements SessionEvent {}

    /** {@code user.tool_confirmation}: {@code result} "allow" or another verdict. */
    record Confirmation(String id, String toolUseId, String result) implements SessionEvent {}

    /** {@code session.status_idle}: a turn ended, or ({@code requiresAction}) it waits for the calls listed. */
    record Idle(String id, boolean requiresAction, List<String> eventIds) implements SessionEvent {}

    /** {@code session.status_terminated} or {@code session.deleted}. */
    record Ended(String id, String type) implements SessionEvent {}

    /** {@code session.thread_status_terminated}: a subagent's thread ended; the session goes on. */
    record ThreadEnded(String id) implements SessionEvent {}

    /** Anything else: the session is active (it counts as activity, nothing more). */
    record Other(String id, String type) implements SessionEvent {}

    static SessionEvent of(JsonNode e) {
        String id = e.path("id").asText("");
        String type = e.path("type").asText("");
        return switch (type) {
            case "agent.tool_use" -> new ToolUse(id, e.path("name").asText(""), e.path("input"), e.path("session_thread_id").asText(""),
                    e.path("evaluated_permission").isTextual() ? e.path("evaluated_permission").asText() : null);
            case "user.tool_result" -> new ResultSeen(id, e.path("tool_use_id").asText(""));
            case "user.tool_confirmation" -> new Confirmation(id, e.path("tool_use_id").asText(""), e.path("result").asText("deny"));
            case "session.status_idle" -> {
                List<String> ids = new ArrayList<>();
                e.path("stop_reason").path("event_ids").forEach(n -> ids.add(n.asText()));
                yield new Idle(id, "requires_action".equals(e.path("stop_reason").path("type").asText()), ids);
            }
            case "session.status_terminated", "session.deleted" -> new Ended(id, type);
            case "session.thread_status_terminated" -> new ThreadEnded(id);
            default -> new Other(id, type);
        };
    }
}
