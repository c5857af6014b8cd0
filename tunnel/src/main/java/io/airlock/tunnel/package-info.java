/**
 * The MCP tunnel: private MCP servers reached through the agent's outbound connection.
 * Not built yet; this module holds its place in the build so the layout is stable.
 */
package io.airlock.tunnel;
