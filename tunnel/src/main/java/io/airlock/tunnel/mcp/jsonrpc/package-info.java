/**
 * JSON-RPC as MCP carries it: parsing and writing messages ({@link io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages}),
 * the outline of a response the tunnel needs for audit and limits without keeping it whole, the
 * scanner that follows a response stream (JSON or SSE), and the tunnel's own error codes.
 */
package io.airlock.tunnel.mcp.jsonrpc;
