package io.airlock.tunnel.mcp.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.tunnel.mcp.Exchange;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpServerSpec;
import io.airlock.tunnel.mcp.identity.CallerTokens;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import io.airlock.tunnel.mcp.jsonrpc.RpcMessage;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private MCP server run as a process speaking stdio, one process per MCP session: the agent
 * is the Streamable HTTP server the caller talks to. An initialize without a session starts a
 * process and names the session; a POST's requests are answered on an SSE stream carrying
 * their responses and progress; a GET is the session's stream for everything else; a DELETE,
 * the idle timeout or the loss of the control link stops the process and what it started.
 * The signed caller token goes in each request's {@code params._meta} under
 * {@value #CALLER_META}, stdio having no headers.
 */
public final class StdioUpstream implements Upstream {
    private static final Logger log = LoggerFactory.getLogger(StdioUpstream.class);
    static final String CALLER_META = "io.airlock/caller";
    private static final Duration POLL = Duration.ofMillis(500);

    private final McpServerSpec spec;
    private final CallerTokens tokens;
    private final SessionTable table;
    private final Map<String, StdioSession> sessions = new ConcurrentHashMap<>();

    public StdioUpstream(McpServerSpec spec, CallerTokens tokens) {
        this.spec = spec;
        this.tokens = tokens;
        this.table = new SessionTable(spec.limits().maxSessions(), spec.limits().idleTimeout());
    }

    @Override
    public int sessions() {
        return sessions.size();
    }

    @Override
    public void exchange(Exchange ex) throws IOException, InterruptedException {
        McpRequest request = ex.request();
        String id = request.sessionId();
        StdioSession session;
        boolean fresh = false;
        if (id == null) {
            if (!request.method().equals("POST") || !ex.initializes()) {
                ex.refuse(400, McpSchema.ErrorCodes.INVALID_REQUEST, "no Mcp-Session-Id: MCP server '"
                        + spec.name() + "' needs an initialize request first, or the session id it returned");
                return;
            }
            if (!table.reserve()) {
                ex.refuseSessionLimit(spec);
                return;
            }
            id = UUID.randomUUID().toString();
            try {
                session = new StdioSession(id, spec);
            } catch (IOException e) {
                table.started(null);
                ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, "cannot start MCP server '" + spec.name() + "' ("
                        + String.join(" ", spec.stdio().command()) + "): " + e.getMessage(), e);
                return;
            }
            table.started(id);
            sessions.put(id, session);
            fresh = true;
            log.info("MCP server {}: session {} started (pid {})", spec.name(), id, session.pid());
        } else {
            session = sessions.get(id);
            if (session == null || !session.isAlive()) {
                if (session != null) {
                    remove(session, session.endedBecause());
                }
                ex.refuse(404, McpErrors.SESSION_NOT_FOUND, "MCP session " + id + " of server '" + spec.name()
                        + "' is not open on this agent" + (session == null ? "" : " (" + session.endedBecause() + ")")
                        + "; start a new session");
                return;
            }
            table.touch(id);
        }
        switch (request.method()) {
            case "POST" -> post(ex, session, fresh);
            case "GET" -> listen(ex, session);
            case "DELETE" -> {
                remove(session, "the caller ended the session");
                ex.head(200, Map.of("mcp-session-id", id));
                ex.end();
            }
            default -> throw new IllegalArgumentException("method " + request.method());
        }
    }

    private void post(Exchange ex, StdioSession session, boolean fresh) throws IOException, InterruptedException {
        List<RpcMessage> requests = ex.messages().stream().filter(RpcMessage::isRequest).toList();
        StdioSession.Stream stream = requests.isEmpty() ? null : session.openPost(requests);
        try {
            for (RpcMessage m : ex.messages()) {
                session.write(m.isRequest() ? withCaller(m, ex.request().caller()) : m.json());
            }
        } catch (IOException e) {
            if (stream != null) {
                session.release(stream);
            }
            ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name() + "' does not take input: "
                    + (session.endedBecause() != null ? session.endedBecause() : e.getMessage()), e);
            if (fresh) {
                remove(session, "it failed at start");
            }
            return;
        }
        if (stream == null) {
            ex.head(202, Map.of("mcp-session-id", session.id()));
            ex.end();
            return;
        }
        ex.onCancel(() -> session.release(stream));
        long deadline = System.nanoTime() + spec.limits().requestTimeout().toNanos();
        try {
            ex.head(200, Map.of("content-type", "text/event-stream", "cache-control", "no-cache", "mcp-session-id", session.id()));
            while (true) {
                byte[] event = next(stream, ex);
                if (event != null && stream.isEnd(event)) {
                    if (!session.answered(stream) && session.endedBecause() != null) {
                        ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name() + "' ended before answering: "
                                + session.endedBecause(), new IOException(session.endedBecause()));
                        return;
                    }
                    ex.end();
                    return;
                }
                if (event != null) {
                    ex.body(event, 0, event.length);
                } else if (stream.closed && stream.events.isEmpty()) {
                    if (session.answered(stream) && session.endedBecause() == null) {
                        ex.end(); // all answered, and the end marker found the queue full
                    }
                    return; // otherwise the caller went away
                } else if (System.nanoTime() > deadline) {
                    ex.upstreamFailed(504, McpErrors.UPSTREAM_TIMEOUT, "MCP server '" + spec.name() + "' did not answer within mcp.servers."
                            + spec.name() + ".request_timeout (" + spec.limits().requestTimeout().toSeconds() + " s)", new IOException("timeout"));
                    return;
                }
            }
        } finally {
            session.release(stream);
        }
    }

    private void listen(Exchange ex, StdioSession session) throws IOException, InterruptedException {
        StdioSession.Stream stream = session.openListener();
        if (stream == null) {
            ex.refuse(409, McpSchema.ErrorCodes.INVALID_REQUEST, "MCP session " + session.id()
                    + " already has a GET stream open");
            return;
        }
        ex.onCancel(() -> session.release(stream));
        try {
            ex.head(200, Map.of("content-type", "text/event-stream", "cache-control", "no-cache", "mcp-session-id", session.id()));
            while (true) {
                byte[] event = next(stream, ex);
                if (event != null && stream.isEnd(event)) {
                    ex.end();
                    return;
                }
                if (event != null) {
                    ex.body(event, 0, event.length);
                } else if (stream.closed) {
                    return; // the caller went away
                }
            }
        } finally {
            session.release(stream);
        }
    }

    /** The stream's next event (null when none came within {@link #POLL}); before waiting, the exchange sends what it holds. */
    private static byte[] next(StdioSession.Stream stream, Exchange ex) throws IOException, InterruptedException {
        byte[] event = stream.events.poll();
        if (event == null) {
            ex.flush();
            event = stream.next(POLL);
        }
        return event;
    }

    /** The request with the signed caller token in {@code params._meta}. */
    private JsonNode withCaller(RpcMessage m, McpRequest.Caller caller) {
        if (tokens == null) {
            return m.json();
        }
        ObjectNode copy = ((ObjectNode) m.json()).deepCopy();
        ObjectNode params = copy.has("params") && copy.get("params").isObject() ? (ObjectNode) copy.get("params") : copy.putObject("params");
        ObjectNode meta = params.has("_meta") && params.get("_meta").isObject() ? (ObjectNode) params.get("_meta") : params.putObject("_meta");
        meta.put(CALLER_META, tokens.sign(spec.name(), caller));
        return copy;
    }

    private void remove(StdioSession session, String why) {
        if (sessions.remove(session.id(), session)) {
            table.remove(session.id());
            log.info("MCP server {}: session {} ends: {}", spec.name(), session.id(), why);
            session.close(why);
        }
    }

    @Override
    public void expireIdle() {
        for (String id : table.expire()) {
            StdioSession s = sessions.get(id);
            if (s != null) {
                Thread.ofVirtual().start(() -> remove(s, "idle for mcp.servers." + spec.name() + ".idle_timeout (" + spec.limits().idleTimeout() + ")"));
            }
        }
        sessions.values().stream().filter(s -> !s.isAlive()).forEach(s -> remove(s, s.endedBecause()));
    }

    @Override
    public void closeAll(String reason) {
        for (StdioSession s : List.copyOf(sessions.values())) {
            Thread.ofVirtual().start(() -> remove(s, reason));
        }
    }

    @Override
    public void close() {
        List<Thread> stopping = List.copyOf(sessions.values()).stream().map(s -> Thread.ofVirtual().start(() -> remove(s, "the agent is stopping"))).toList();
        for (Thread t : stopping) {
            try {
                t.join(Duration.ofSeconds(6));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
