package io.airlock.controlplane.mcp;

import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.httpfront.HttpFront;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The reference control plane's door to agents' private MCP servers: every server of every
 * connected agent at {@code http://HOST:PORT/mcp/AGENT/SERVER}, speaking MCP's Streamable HTTP,
 * so any MCP client works unchanged. Loopback only; callers present the admin token as a
 * bearer token (a real control plane authenticates its users its own way) and may say who they
 * act for in {@code Airlock-Caller-User}, {@code -Agent} and {@code -Session}, which the agent
 * turns into a signed token for the server.
 */
public final class McpEndpoint implements AutoCloseable {
    /** Largest request body accepted (agents apply their own, usually smaller, limit per server). */
    static final int MAX_BODY = 16 << 20;

    private final HttpFront front;

    private McpEndpoint(HttpFront front) {
        this.front = front;
    }

    /** @param bearerToken what callers must send as {@code Authorization: Bearer ...}; null for no check (tests) */
    public static McpEndpoint start(AgentClient agents, InetSocketAddress listen, String bearerToken) throws IOException {
        if (!listen.getAddress().isLoopbackAddress()) {
            throw new IOException("the MCP endpoint listens on loopback only (got " + listen + ")");
        }
        return new McpEndpoint(HttpFront.start(listen, null, MAX_BODY, () -> new McpHttpHandler(agents, bearerToken)));
    }

    public int port() {
        return front.address().getPort();
    }

    /** The URL of one agent's server. */
    public String url(String agentId, String server) {
        return "http://127.0.0.1:" + port() + "/mcp/" + agentId + "/" + server;
    }

    @Override
    public void close() {
        front.close();
    }
}
