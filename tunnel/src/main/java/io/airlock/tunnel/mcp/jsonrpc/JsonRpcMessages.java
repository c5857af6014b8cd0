package io.airlock.tunnel.mcp.jsonrpc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;

/** Reads the JSON-RPC messages of a POST body: one message, or a batch (an array, as MCP 2025-03-26 allows). */
public final class JsonRpcMessages {
    public static final ObjectMapper JSON = new ObjectMapper();

    private JsonRpcMessages() {}

    /** Thrown for a body that is not JSON-RPC; the message says what was wrong and what was expected. */
    public static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    /**
     * The messages of {@code body}, each as the SDK's type. {@code hasher} turns a tool call's
     * arguments (canonical JSON) into what the audit log keeps.
     */
    public static List<RpcMessage> parse(byte[] body, UnaryOperator<String> hasher) throws MalformedException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedException("the body is not JSON (" + e.getOriginalMessage() + "); expected a JSON-RPC 2.0 message");
        } catch (IOException e) {
            throw new MalformedException("the body cannot be read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new MalformedException("the body is empty; expected a JSON-RPC 2.0 message");
        }
        List<RpcMessage> messages = new ArrayList<>();
        if (root.isArray()) {
            if (root.isEmpty()) {
                throw new MalformedException("the batch is empty; expected at least one JSON-RPC message");
            }
            for (int i = 0; i < root.size(); i++) {
                messages.add(one(root.get(i), "message [" + i + "]", hasher));
            }
        } else {
            messages.add(one(root, "the message", hasher));
        }
        return messages;
    }

    private static RpcMessage one(JsonNode node, String what, UnaryOperator<String> hasher) throws MalformedException {
        if (!node.isObject()) {
            throw new MalformedException(what + " is a JSON " + node.getNodeType().name().toLowerCase(Locale.ROOT)
                    + "; expected a JSON-RPC 2.0 object");
        }
        if (!McpSchema.JSONRPC_VERSION.equals(node.path("jsonrpc").asText(null))) {
            throw new MalformedException(what + " has jsonrpc " + node.get("jsonrpc") + "; expected \"2.0\"");
        }
        JsonNode id = node.get("id");
        if (id != null && !id.isNull() && !id.isTextual() && !id.isIntegralNumber()) {
            throw new MalformedException(what + " has id " + id + "; expected a string or an integer");
        }
        Object idValue = id == null || id.isNull() ? null : id.isTextual() ? id.asText() : id.numberValue();
        JsonNode method = node.get("method");
        Object params = node.has("params") ? JSON.convertValue(node.get("params"), Object.class) : null;
        if (method != null) {
            if (!method.isTextual() || method.asText().isEmpty()) {
                throw new MalformedException(what + " has method " + method + "; expected a non-empty string");
            }
            if (idValue == null) {
                return new RpcMessage(new McpSchema.JSONRPCNotification(McpSchema.JSONRPC_VERSION, method.asText(), params), null, null, node);
            }
            McpSchema.JSONRPCRequest request = new McpSchema.JSONRPCRequest(McpSchema.JSONRPC_VERSION, method.asText(), idValue, params);
            if (McpSchema.METHOD_TOOLS_CALL.equals(request.method())) {
                return toolCall(request, node, what, hasher);
            }
            return new RpcMessage(request, null, null, node);
        }
        if (idValue == null || !(node.has("result") || node.has("error"))) {
            throw new MalformedException(what + " has neither a method nor an id with a result or error; expected a request, "
                    + "a notification or a response");
        }
        McpSchema.JSONRPCResponse.JSONRPCError error = null;
        if (node.has("error")) {
            JsonNode e = node.get("error");
            error = new McpSchema.JSONRPCResponse.JSONRPCError(e.path("code").asInt(), e.path("message").asText(""), null);
        }
        Object result = node.has("result") ? JSON.convertValue(node.get("result"), Object.class) : null;
        return new RpcMessage(new McpSchema.JSONRPCResponse(McpSchema.JSONRPC_VERSION, idValue, result, error), null, null, node);
    }

    private static RpcMessage toolCall(McpSchema.JSONRPCRequest request, JsonNode node, String what, UnaryOperator<String> hasher)
            throws MalformedException {
        JsonNode params = node.path("params");
        JsonNode name = params.get("name");
        if (name == null || !name.isTextual() || name.asText().isEmpty()) {
            throw new MalformedException(what + ": tools/call without params.name; expected the tool's name");
        }
        JsonNode args = params.get("arguments");
        if (args != null && !args.isNull() && !args.isObject()) {
            throw new MalformedException(what + ": tools/call params.arguments is a JSON " + args.getNodeType().name().toLowerCase(Locale.ROOT)
                    + "; expected an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> arguments = args == null || args.isNull() ? Map.of() : JSON.convertValue(args, Map.class);
        McpSchema.CallToolRequest call = new McpSchema.CallToolRequest(name.asText(), arguments);
        return new RpcMessage(request, call.name(), hasher.apply(canonical(args)), node);
    }

    /** The arguments as JSON with object keys sorted, so equal arguments hash equally. */
    static String canonical(JsonNode args) {
        if (args == null || args.isNull()) {
            return "{}";
        }
        try {
            return JSON.writer().with(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                    .writeValueAsString(JSON.convertValue(args, Object.class));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JSON-RPC error response for request {@code id} (null: an error not tied to a request). */
    public static byte[] error(JsonNode id, int code, String message) {
        ObjectNode out = JSON.createObjectNode();
        out.put("jsonrpc", McpSchema.JSONRPC_VERSION);
        if (id == null) {
            out.putNull("id");
        } else {
            out.set("id", id);
        }
        ObjectNode error = out.putObject("error");
        error.put("code", code);
        error.put("message", message);
        try {
            return JSON.writeValueAsBytes(out);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
