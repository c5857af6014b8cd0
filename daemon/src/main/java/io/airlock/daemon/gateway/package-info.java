/**
 * The MCP gateway origin: the agent's private MCP servers served over HTTP(S) by host name
 * ({@code SERVER.TUNNEL_DOMAIN}) to a tunnel connector the customer already runs, with the same
 * policy, audit, credential injection and caller tokens as exchanges over the control link.
 */
package io.airlock.daemon.gateway;
