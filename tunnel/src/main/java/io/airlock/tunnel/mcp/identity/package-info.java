/**
 * Who the caller is, told to a private MCP server: short-lived tokens the agent signs with its
 * own key for each exchange, and the verifier a server uses against the agent's published keys.
 */
package io.airlock.tunnel.mcp.identity;
