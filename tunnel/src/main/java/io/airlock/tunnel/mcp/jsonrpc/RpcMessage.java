package io.airlock.tunnel.mcp.jsonrpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.modelcontextprotocol.spec.McpSchema;

/**
 * One JSON-RPC message a caller sent, read with the MCP Java SDK's types: a request (it has an
 * id and expects a response), a notification, or a response to a request of the server's.
 *
 * @param message  the SDK's view of it
 * @param tool     for {@code tools/call}, the tool's name; else null
 * @param argsHash for {@code tools/call}, a keyed hash of the arguments (what the audit log keeps); else null
 * @param json     the message as it arrived
 */
public record RpcMessage(McpSchema.JSONRPCMessage message, String tool, String argsHash, JsonNode json) {
    public boolean isRequest() {
        return message instanceof McpSchema.JSONRPCRequest;
    }

    /** The request's or response's id as JSON (a number or a string), or null for a notification. */
    public JsonNode id() {
        JsonNode id = json.get("id");
        return id == null || id.isNull() ? null : id;
    }

    /** The method, or "response" for a response to the server. */
    public String method() {
        return switch (message) {
            case McpSchema.JSONRPCRequest r -> r.method();
            case McpSchema.JSONRPCNotification n -> n.method();
            default -> "response";
        };
    }

    /** A request's {@code params._meta.progressToken}, or null. */
    public JsonNode progressToken() {
        JsonNode token = json.path("params").path("_meta").get("progressToken");
        return token == null || token.isNull() ? null : token;
    }
}
