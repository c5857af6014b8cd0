/**
 * The MCP tunnel: private MCP servers reached through the agent's outbound connection (not
 * built yet), and in {@code io.airlock.tunnel.net} the network code it shares with the egress
 * proxy.
 */
package io.airlock.tunnel;
