/**
 * The private MCP servers themselves: Streamable HTTP upstreams (bounded body queues, the
 * networks they may be on) and stdio upstreams (processes the agent runs, bounded line reads),
 * with the sessions each keeps.
 */
package io.airlock.tunnel.mcp.upstream;
