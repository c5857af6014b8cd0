package io.airlock.tunnel.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.jsonrpc.JsonOutline;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import io.airlock.tunnel.mcp.jsonrpc.ResponseScanner;
import io.airlock.tunnel.mcp.jsonrpc.RpcMessage;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One exchange under way: it stands between the upstream and the caller's sink, counting and
 * bounding the response, watching it for each request's outcome, turning upstream failures
 * into errors the caller can act on, and writing the audit records (one per JSON-RPC message,
 * or one for a GET or DELETE) when it is over: before the caller's response ends, so an answer
 * the caller has seen is already in the audit log (with {@code audit.durability: each}, on disk).
 */
public final class Exchange implements ResponseSink {
    private final String server;
    private final long maxResponseBytes;
    private final McpRequest request;
    private final List<RpcMessage> messages;
    private final ResponseSink caller;
    private final McpAudit audit;
    private final long startedNanos = System.nanoTime();
    private ResponseScanner scanner;
    private boolean headSent;
    private int status;
    private long responseBytes;
    private String session;
    private String failure;
    private McpPolicy.Denial denial;
    /** The answer is the agent's own error (a refusal or an upstream failure), not the server's: audited as failed, not error. */
    private boolean answeredByAgent;
    private boolean audited;
    /** Whose Authorization header went upstream: "agent" (injected), "caller" (passed through) or "none". */
    private String authorization = "none";

    /** @param server the server's name (for an unknown one: the name asked for) */
    Exchange(String server, long maxResponseBytes, McpRequest request, List<RpcMessage> messages, ResponseSink caller, McpAudit audit) {
        this.server = server;
        this.audit = audit;
        this.maxResponseBytes = maxResponseBytes;
        this.request = request;
        this.messages = messages;
        this.caller = caller;
        this.session = request.sessionId();
    }

    public McpRequest request() {
        return request;
    }

    public List<RpcMessage> messages() {
        return messages;
    }

    boolean headSent() {
        return headSent;
    }

    int status() {
        return status;
    }

    long responseBytes() {
        return responseBytes;
    }

    /** The MCP session: the caller's, or the one the server just started. */
    String session() {
        return session;
    }

    /** Records whose Authorization header the upstream got (never the header itself). */
    public void authorization(String whose) {
        this.authorization = whose;
    }

    public boolean initializes() {
        return messages.stream().anyMatch(m -> m.isRequest() && McpSchema.METHOD_INITIALIZE.equals(m.method()));
    }

    @Override
    public void head(int status, Map<String, String> headers) throws IOException {
        this.status = status;
        String started = headers.get("mcp-session-id");
        if (session == null && started != null) {
            session = started;
        }
        scanner = new ResponseScanner(headers.get("content-type"));
        headSent = true;
        caller.head(status, headers);
    }

    @Override
    public void body(byte[] bytes, int offset, int length) throws IOException {
        if (responseBytes + length > maxResponseBytes) {
            // The caller gets exactly the bytes allowed, however the upstream's bytes were pieced together, then the cut.
            int room = (int) (maxResponseBytes - responseBytes);
            if (room > 0) {
                relay(bytes, offset, room);
            }
            throw new LimitException("the response of MCP server '" + server + "' exceeds mcp.servers." + server
                    + ".max_response_bytes (" + maxResponseBytes + " bytes)");
        }
        relay(bytes, offset, length);
    }

    @Override
    public void body(ByteBuffer owned) throws IOException {
        int length = owned.remaining();
        if (!owned.hasArray() || responseBytes + length > maxResponseBytes) {
            ResponseSink.super.body(owned); // through the copying path, which also makes the cut
            return;
        }
        responseBytes += length;
        scanner.feed(owned.array(), owned.arrayOffset() + owned.position(), length);
        caller.body(owned);
    }

    private void relay(byte[] bytes, int offset, int length) throws IOException {
        responseBytes += length;
        scanner.feed(bytes, offset, length);
        caller.body(bytes, offset, length);
    }

    @Override
    public void flush() throws IOException {
        caller.flush();
    }

    @Override
    public void end() throws IOException {
        audit();
        caller.end();
    }

    @Override
    public void onCancel(Runnable action) {
        caller.onCancel(action);
    }

    /** A limit of the response was reached. */
    public static final class LimitException extends IOException {
        public LimitException(String message) {
            super(message);
        }
    }

    /** Answers the whole exchange with a JSON-RPC error (before anything was sent), e.g. a refusal by policy. */
    public void refuse(int httpStatus, int code, String message) throws IOException {
        answeredByAgent = true;
        if (failure == null) {
            failure = message;
        }
        JsonNode id = messages.size() == 1 ? messages.get(0).id() : null;
        byte[] body = JsonRpcMessages.error(id, code, message);
        head(httpStatus, Map.of("content-type", "application/json"));
        body(body, 0, body.length);
        end();
    }

    /** The server has max_sessions open: one more session is refused. */
    public void refuseSessionLimit(McpServerSpec spec) throws IOException {
        refuse(503, McpErrors.LIMIT, "MCP server '" + spec.name() + "' has mcp.servers." + spec.name() + ".max_sessions ("
                + spec.limits().maxSessions() + ") sessions open; end one or raise the limit");
    }

    public void denied(McpPolicy.Denial denial) throws IOException {
        denied(200, denial);
    }

    public void denied(int httpStatus, McpPolicy.Denial denial) throws IOException {
        denied(httpStatus, McpErrors.POLICY_DENIED, denial);
    }

    /** Refuses the exchange and audits it as denied by {@code denial}'s rule, answering with JSON-RPC error {@code code}. */
    public void denied(int httpStatus, int code, McpPolicy.Denial denial) throws IOException {
        this.denial = denial;
        failure = denial.message();
        refuse(httpStatus, code, denial.message());
    }

    /** The exchange ended by an exception (the caller went away, the response broke): why, unless a reason is known already. */
    void broke(String why) {
        if (failure == null) {
            failure = why;
        }
    }

    /**
     * The upstream failed (unreachable, timed out, died mid-stream). Before the head: an HTTP
     * error with a JSON-RPC error body. In an SSE stream: one error event for each request not
     * yet answered, then a clean end, so the caller's pending calls fail with the reason. In a
     * JSON body nothing can be mended: the exception goes on and the caller's response breaks.
     */
    public void upstreamFailed(int httpStatus, int code, String message, IOException cause) throws IOException {
        failure = message;
        if (!headSent) {
            refuse(httpStatus, code, message);
            return;
        }
        if (!scanner.sse()) {
            throw cause;
        }
        byte[] cut = scanner.cut(); // an event cut short must not be parsed as a message
        caller.body(cut, 0, cut.length);
        for (RpcMessage m : messages) {
            if (m.isRequest() && scanner.outcome(m.id().toString()) == null) {
                byte[] event = ("event: message\ndata: " + new String(JsonRpcMessages.error(m.id(), code, message), StandardCharsets.UTF_8)
                        + "\n\n").getBytes(StandardCharsets.UTF_8);
                // Not fed to the scanner: the audit record says the upstream failed, not that it answered with an error.
                caller.body(event, 0, event.length);
            }
        }
        end();
    }

    /**
     * Writes the exchange's audit records, once: at the end of the response, or (when the
     * response broke or the caller went away) when the exchange is over.
     */
    void audit() {
        if (audited) {
            return;
        }
        audited = true;
        long latencyMs = (System.nanoTime() - startedNanos) / 1_000_000;
        if (messages.isEmpty()) {
            Map<String, Object> f = common(latencyMs);
            f.put("method", request.resourceMetadata() ? "oauth-protected-resource" : "");
            if (denial != null) {
                f.put("rule", denial.rule());
                outcome(f, "denied", denial.message());
            } else if (status >= 200 && status < 300 && failure == null) {
                outcome(f, "ok", null);
            } else {
                outcome(f, "failed", failure != null ? failure : "HTTP " + status + " from the upstream");
            }
            audit.record(f);
            return;
        }
        for (RpcMessage m : messages) {
            Map<String, Object> f = common(latencyMs);
            f.put("method", m.method());
            if (m.tool() != null) {
                f.put("tool", m.tool());
                f.put("args_hmac", m.argsHash());
            }
            if (m.id() != null) {
                f.put("rpc_id", m.id().isTextual() ? m.id().asText() : m.id().toString());
            }
            if (denial != null) {
                f.put("rule", denial.rule());
                outcome(f, "denied", denial.message());
            } else if (!m.isRequest()) {
                outcome(f, status >= 200 && status < 300 ? "accepted" : "failed", failure);
            } else {
                JsonOutline.Outcome o = scanner == null || answeredByAgent ? null : scanner.outcome(m.id().toString());
                if (o == null) {
                    outcome(f, failure != null ? "failed" : "no_response", failure);
                } else if (o.ok()) {
                    outcome(f, "ok", null);
                } else {
                    f.put("error_code", o.code());
                    outcome(f, "error", o.message());
                }
            }
            audit.record(f);
        }
    }

    private Map<String, Object> common(long latencyMs) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("server", server);
        f.put("http_method", request.method());
        f.put("mcp_session", session == null ? "" : session);
        f.put("caller_user", request.caller().user());
        f.put("caller_agent", request.caller().agent());
        f.put("caller_session", request.caller().session());
        f.put("http_status", status);
        f.put("latency_ms", latencyMs);
        f.put("authorization", authorization);
        f.put("request_bytes", request.body().length);
        f.put("response_bytes", responseBytes);
        return f;
    }

    private static void outcome(Map<String, Object> f, String outcome, String message) {
        f.put("outcome", outcome);
        if (message != null) {
            f.put("error", message);
        }
    }
}
