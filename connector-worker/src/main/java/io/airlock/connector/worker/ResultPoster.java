package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.connector.worker.tools.ToolResult;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts a call's result as the SDK 1.16 session runner does: each attempt with a longer deadline
 * (15 s doubling to 240 s), transient failures retried with {@link Pacing#RETRY} while the
 * session is served; a result the API refuses for good with 400 or 413 replaced by an error
 * result saying so (the call stays open without one), which is audited.
 */
final class ResultPoster {
    private static final Logger log = LoggerFactory.getLogger(ResultPoster.class);
    /** The first send's deadline; each retry's doubles, up to 240 s (16x). */
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(15);

    private final WorkQueueApi api;
    private final Credential token;
    private final String sessionId;
    private final BooleanSupplier serving;
    private final BooleanSupplier terminated;
    private final CallGate.Audit audit;

    /**
     * @param serving    false once the session's work is ending: no more attempts
     * @param terminated true once the session ended: a failure is not retried
     */
    ResultPoster(WorkQueueApi api, Credential token, String sessionId, BooleanSupplier serving, BooleanSupplier terminated,
            CallGate.Audit audit) {
        this.api = api;
        this.token = token;
        this.sessionId = sessionId;
        this.serving = serving;
        this.terminated = terminated;
        this.audit = audit;
    }

    static ObjectNode event(String toolUseId, ToolResult result) {
        ObjectNode r = WorkQueueApi.JSON.createObjectNode().put("type", "user.tool_result").put("tool_use_id", toolUseId)
                .put("is_error", result.isError());
        r.putArray("content").addObject().put("type", "text").put("text", result.text().isEmpty() ? "(no output)" : result.text());
        return r;
    }

    /** Whether a result (this one, or the error replacing it) was posted. */
    boolean post(String toolUseId, String tool, ToolResult result) throws InterruptedException {
        ObjectNode event = event(toolUseId, result);
        ObjectNode sending = event;
        for (int attempt = 0; serving.getAsBoolean(); attempt++) {
            Duration timeout = SEND_TIMEOUT.multipliedBy(1L << Math.min(attempt, 4)); // 15, 30, 60, 120, then 240 s
            try {
                api.send(token, sessionId, List.of(sending), timeout);
                return true;
            } catch (ApiException e) {
                if ((e.status() == 400 || e.status() == 413) && sending == event) {
                    sending = event(toolUseId, ToolResult.error("The API refused the result of tool '" + tool + "': " + e.status() + " "
                            + e.getMessage()));
                    audit.record("result_refused", Map.of("tool_use_id", toolUseId, "tool", tool, "status", e.status(), "reason", e.getMessage()));
                    continue;
                }
                if (!e.transientFailure() || terminated.getAsBoolean()) {
                    log.warn("session {}: the platform refused a tool result: {} {}", sessionId, e.status(), e.getMessage());
                    return false;
                }
                Thread.sleep(Pacing.RETRY.delayMs(attempt, ThreadLocalRandom.current()));
            }
        }
        return false;
    }
}
