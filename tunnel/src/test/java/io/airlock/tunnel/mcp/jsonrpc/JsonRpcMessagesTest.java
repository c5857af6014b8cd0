package io.airlock.tunnel.mcp.jsonrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.tunnel.mcp.McpPolicy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class JsonRpcMessagesTest {
    private static List<RpcMessage> parse(String body) throws Exception {
        return JsonRpcMessages.parse(body.getBytes(StandardCharsets.UTF_8), v -> "h(" + v + ")");
    }

    @Test
    void aToolCallIsNamedAndItsArgumentsHashedInCanonicalOrder() throws Exception {
        RpcMessage m = parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"b\":1,\"a\":\"x\"}}}").get(0);
        assertTrue(m.isRequest());
        assertEquals("tools/call", m.method());
        assertEquals("echo", m.tool());
        assertEquals("h({\"a\":\"x\",\"b\":1})", m.argsHash());
        assertEquals("3", m.id().toString());
    }

    @Test
    void notificationsResponsesAndBatchesAreTold() throws Exception {
        List<RpcMessage> batch = parse("[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                + "{\"jsonrpc\":\"2.0\",\"id\":\"s1\",\"result\":{}}]");
        assertEquals("notifications/initialized", batch.get(0).method());
        assertNull(batch.get(0).id());
        assertEquals("response", batch.get(1).method());
    }

    @Test
    void malformedBodiesAreRefusedNamingWhatWasWrong() {
        assertTrue(assertThrows(JsonRpcMessages.MalformedException.class, () -> parse("{nope")).getMessage().contains("not JSON"));
        assertTrue(assertThrows(JsonRpcMessages.MalformedException.class, () -> parse("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}"))
                .getMessage().contains("expected \"2.0\""));
        assertTrue(assertThrows(JsonRpcMessages.MalformedException.class, () -> parse("[]")).getMessage().contains("batch is empty"));
        assertTrue(assertThrows(JsonRpcMessages.MalformedException.class,
                () -> parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}")).getMessage().contains("params.name"));
        assertTrue(assertThrows(JsonRpcMessages.MalformedException.class, () -> parse("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}"))
                .getMessage().contains("string or an integer"));
    }

    @Test
    void thePolicyNamesTheRuleThatRefuses() throws Exception {
        McpPolicy policy = new McpPolicy("files", Set.of("initialize", "tools/call"), Set.of("echo", "add"), Set.of("add"));
        assertTrue(policy.check(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}").get(0)).isEmpty());
        assertEquals("mcp.servers.files.tools.deny",
                policy.check(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"add\"}}").get(0)).orElseThrow().rule());
        assertEquals("mcp.servers.files.tools.allow",
                policy.check(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}").get(0)).orElseThrow().rule());
        assertEquals("mcp.servers.files.methods",
                policy.check(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\"}").get(0)).orElseThrow().rule());
        assertTrue(policy.check(parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}").get(0)).isEmpty(), "responses pass");
    }
}
