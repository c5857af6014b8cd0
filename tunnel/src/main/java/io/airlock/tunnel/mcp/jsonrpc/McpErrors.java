package io.airlock.tunnel.mcp.jsonrpc;

/**
 * The JSON-RPC error codes the tunnel answers with (in JSON-RPC's range for server errors), so
 * a caller can tell a refusal by the agent from an error of the MCP server itself. Documented in
 * docs/protocol.md.
 */
public final class McpErrors {
    private McpErrors() {}

    /** The agent's policy refuses the method or tool; the message names the rule. */
    public static final int POLICY_DENIED = -32010;
    /** A limit of the agent's (size, sessions) is reached; the message names it. */
    public static final int LIMIT = -32011;
    /** The upstream could not be reached, or failed before or while answering. */
    public static final int UPSTREAM_UNAVAILABLE = -32012;
    /** The upstream did not answer within the server's request_timeout. */
    public static final int UPSTREAM_TIMEOUT = -32013;
    /** The session is unknown or over (Streamable HTTP answers 404: start a new session). */
    public static final int SESSION_NOT_FOUND = -32001;
    /** The standard headers (Mcp-Method, Mcp-Name) disagree with the body: revision 2026-07-28's HeaderMismatch, with HTTP 400. */
    public static final int HEADER_MISMATCH = -32020;
}
