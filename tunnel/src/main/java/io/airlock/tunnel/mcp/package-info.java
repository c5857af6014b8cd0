/**
 * The MCP tunnel: {@link io.airlock.tunnel.mcp.McpTunnel} takes one HTTP exchange for a named
 * private MCP server, applies the server's policy, and relays it to the upstream, auditing each
 * exchange ({@link io.airlock.tunnel.mcp.Exchange}). Below it: {@code jsonrpc} (the messages),
 * {@code upstream} (HTTP and stdio servers) and {@code identity} (caller tokens).
 */
package io.airlock.tunnel.mcp;
