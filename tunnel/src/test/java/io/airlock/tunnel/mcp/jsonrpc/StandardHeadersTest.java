package io.airlock.tunnel.mcp.jsonrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StandardHeadersTest {
    static List<RpcMessage> body(String json) throws Exception {
        return JsonRpcMessages.parse(json.getBytes(StandardCharsets.UTF_8), s -> "h");
    }

    static final String CALL = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"déjà vu\",\"arguments\":{}}}";

    @Test
    void agreeingOrAbsentHeadersPass() throws Exception {
        assertEquals(Optional.empty(), StandardHeaders.mismatch(Map.of(), body(CALL)));
        String b64 = "=?base64?" + Base64.getEncoder().encodeToString("déjà vu".getBytes(StandardCharsets.UTF_8)) + "?=";
        assertEquals(Optional.empty(), StandardHeaders.mismatch(Map.of("mcp-method", "tools/call", "mcp-name", b64), body(CALL)));
        assertEquals(Optional.empty(), StandardHeaders.mismatch(Map.of("mcp-method", "resources/read", "mcp-name", "file:///a"),
                body("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///a\"}}")));
        assertEquals(Optional.empty(), StandardHeaders.mismatch(Map.of("mcp-method", "notifications/cancelled"),
                body("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{}}")));
    }

    @Test
    void eachDisagreementIsNamed() throws Exception {
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-method", "tools/list"), body(CALL)).orElseThrow()
                .startsWith("the Mcp-Method header says 'tools/list' but the body calls 'tools/call'"));
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-name", "other"), body(CALL)).orElseThrow()
                .startsWith("the Mcp-Name header says 'other' but the body's params.name is \"déjà vu\""));
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-name", "x"), body("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"))
                .orElseThrow().contains("method 'tools/list' has no name to mirror"));
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-method", "tools/call"), body("[" + CALL + "," + CALL.replace("\"id\":1", "\"id\":2") + "]"))
                .orElseThrow().contains("a batch of 2 messages"));
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-method", "tools/call"), body("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"))
                .orElseThrow().contains("the body is a response"));
        assertTrue(StandardHeaders.mismatch(Map.of("mcp-name", "=?base64?!!!?="), body(CALL)).orElseThrow()
                .startsWith("the Mcp-Name header is marked base64 but is not"));
    }
}
