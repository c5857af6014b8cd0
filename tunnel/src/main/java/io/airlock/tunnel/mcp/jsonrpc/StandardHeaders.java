package io.airlock.tunnel.mcp.jsonrpc;

import com.fasterxml.jackson.databind.JsonNode;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The standard request headers of revision 2026-07-28 ({@code Mcp-Method}, {@code Mcp-Name})
 * mirror the JSON-RPC body so that intermediaries can route without parsing it. Airlock decides
 * on the body; these headers are only checked against it, so that a request cannot show the
 * upstream (or a router in front of it) one tool while the policy judged another.
 */
public final class StandardHeaders {
    /** Which body field {@code Mcp-Name} mirrors, by method (the revision's table). */
    private static final Map<String, String> NAME_SOURCE = Map.of(
            "tools/call", "name",
            "prompts/get", "name",
            "resources/read", "uri",
            "tasks/get", "taskId",
            "tasks/update", "taskId",
            "tasks/cancel", "taskId");
    /** The rule an audit record names when it refuses such a request. */
    public static final String RULE = "standard-headers";
    private static final String B64_PREFIX = "=?base64?";
    private static final String B64_SUFFIX = "?=";

    private StandardHeaders() {}

    /**
     * Why the headers disagree with the body, or empty when they agree (or are absent: a
     * 2025-era request has neither, and an upstream on 2026-07-28 requires them itself).
     *
     * @param headers the request's headers, lower-case names
     */
    public static Optional<String> mismatch(Map<String, String> headers, List<RpcMessage> messages) {
        String method = headers.get("mcp-method");
        String name = headers.get("mcp-name");
        if (method == null && name == null) {
            return Optional.empty();
        }
        if (messages.size() != 1) {
            return Optional.of("the request carries " + (method != null ? "an Mcp-Method" : "an Mcp-Name") + " header and a batch of "
                    + messages.size() + " messages; expected one message that the header describes");
        }
        RpcMessage m = messages.get(0);
        String bodyMethod = m.message() instanceof McpSchema.JSONRPCResponse ? null : m.method();
        if (method != null && !method.equals(bodyMethod)) {
            return Optional.of("the Mcp-Method header says '" + method + "' but the body " + (bodyMethod == null ? "is a response"
                    : "calls '" + bodyMethod + "'") + "; expected the header to mirror the body's method");
        }
        if (name == null) {
            return Optional.empty();
        }
        String field = bodyMethod == null ? null : NAME_SOURCE.get(bodyMethod);
        if (field == null) {
            return Optional.of("the Mcp-Name header is set, but method '" + bodyMethod + "' has no name to mirror; expected it only for "
                    + String.join(", ", new TreeSet<>(NAME_SOURCE.keySet())));
        }
        String decoded;
        try {
            decoded = decode(name);
        } catch (IllegalArgumentException e) {
            return Optional.of("the Mcp-Name header " + e.getMessage());
        }
        JsonNode value = m.json().path("params").path(field);
        if (!value.isTextual() || !value.asText().equals(decoded)) {
            return Optional.of("the Mcp-Name header says '" + decoded + "' but the body's params." + field + " is "
                    + (value.isMissingNode() ? "missing" : value.toString()) + "; expected the header to mirror it");
        }
        return Optional.empty();
    }

    /** A header value as sent: plain, or {@code =?base64?...?=} (UTF-8) when the value is not safe in a header. */
    static String decode(String value) {
        if (!value.startsWith(B64_PREFIX) || !value.endsWith(B64_SUFFIX) || value.length() < B64_PREFIX.length() + B64_SUFFIX.length()) {
            return value;
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(value.substring(B64_PREFIX.length(), value.length() - B64_SUFFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("is marked base64 but is not (" + e.getMessage() + ")");
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("is base64 of something that is not UTF-8");
        }
    }
}
