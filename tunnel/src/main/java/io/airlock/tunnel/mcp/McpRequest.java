package io.airlock.tunnel.mcp;

import java.util.Map;
import java.util.Set;

/**
 * One HTTP request for a private MCP server, as the control plane sent it.
 *
 * @param server  a name from the registry
 * @param method  POST, GET or DELETE
 * @param headers lower-case names; only {@link #FORWARDED} are passed on
 * @param body    the POST body, whole (bounded by the server's max_request_bytes before it gets here)
 * @param caller  who is calling, as the control plane vouches
 */
public record McpRequest(String server, String method, Map<String, String> headers, byte[] body, Caller caller) {
    /**
     * The caller's headers that reach an upstream. Any other (Authorization, Cookie, a
     * configured credential header, hop-by-hop headers) is dropped: credentials are the agent's.
     */
    public static final Set<String> FORWARDED = Set.of("accept", "content-type", "mcp-session-id",
            "mcp-protocol-version", "last-event-id");

    public McpRequest {
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body;
        caller = caller == null ? Caller.ANONYMOUS : caller;
    }

    public String header(String name) {
        return headers.get(name);
    }

    public String sessionId() {
        String id = headers.get("mcp-session-id");
        return id == null || id.isBlank() ? null : id;
    }

    /** The identity behind a request: a user, the AI agent acting for them, and its session. */
    public record Caller(String user, String agent, String session) {
        public static final Caller ANONYMOUS = new Caller("", "", "");

        public Caller {
            user = user == null ? "" : user;
            agent = agent == null ? "" : agent;
            session = session == null ? "" : session;
        }
    }
}
