/**
 * The MCP tunnel ({@code io.airlock.tunnel.mcp}): private MCP servers reached through the
 * agent's outbound connection; and in {@code io.airlock.tunnel.net} the network code it shares
 * with the egress proxy.
 */
package io.airlock.tunnel;
