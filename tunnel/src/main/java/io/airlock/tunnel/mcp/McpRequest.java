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
 * @param publicUrl where the caller reaches this server (the control plane's or the gateway's URL
 *                  for it), so OAuth metadata can point there; null when unknown
 * @param resourceMetadata the request asks for the server's OAuth protected-resource metadata
 *                  (RFC 9728) rather than carrying an MCP exchange
 */
public record McpRequest(String server, String method, Map<String, String> headers, byte[] body, Caller caller,
                         String publicUrl, boolean resourceMetadata) {
    /**
     * The caller's headers that reach an upstream, besides any {@code mcp-param-*}: Streamable
     * HTTP's own (both revisions) and the caller's {@code authorization} for a server that does
     * OAuth itself; a credential the agent injects under the same name replaces it. Any other
     * (Cookie, hop-by-hop headers, a header the agent injects) is dropped.
     */
    public static final Set<String> FORWARDED = Set.of("accept", "content-type", "mcp-session-id",
            "mcp-protocol-version", "last-event-id", "mcp-method", "mcp-name", "authorization");

    public McpRequest {
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body;
        caller = caller == null ? Caller.ANONYMOUS : caller;
        publicUrl = publicUrl == null || publicUrl.isBlank() ? null : publicUrl;
    }

    public McpRequest(String server, String method, Map<String, String> headers, byte[] body, Caller caller) {
        this(server, method, headers, body, caller, null, false);
    }

    /**
     * Whether a caller's header (lower case) goes on to the upstream. {@code Mcp-Param-*} mirror
     * tool arguments (revision 2026-07-28): an intermediary forwards them, even ones it does not
     * know.
     */
    public static boolean forwarded(String name) {
        return FORWARDED.contains(name) || name.startsWith("mcp-param-");
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
