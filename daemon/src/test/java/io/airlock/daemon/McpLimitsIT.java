package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each of a server's limits, reached through the reference endpoint with the everything server
 * from npm upstream, gives the caller a JSON-RPC error naming the setting, and is audited:
 * max_sessions (HTTP and stdio), request_timeout, max_response_bytes, mcp.allowed_networks.
 * (max_request_bytes is in {@link McpTunnelIT}.)
 */
class McpLimitsIT {
    @TempDir
    static Path dir;
    static Process everything;
    static int port;
    static McpAgent agent;
    static McpRawCaller caller;

    @BeforeAll
    static void start() throws Exception {
        McpPeers.require();
        port = AgentFixture.freePort();
        everything = McpPeers.everythingHttp(port);
        agent = McpAgent.start(dir.resolve("limits"), """
                  servers:
                    one-session:
                      url: "http://127.0.0.1:%1$d/mcp"
                      max_sessions: 1
                    one-session-stdio:
                      command: ["%2$s", "%3$s", "stdio"]
                      max_sessions: 1
                    slow:
                      url: "http://127.0.0.1:%1$d/mcp"
                      request_timeout: 2s
                    small:
                      url: "http://127.0.0.1:%1$d/mcp"
                      max_response_bytes: 16KiB
                """.formatted(port, McpPeers.node(), McpPeers.everything()));
        caller = agent.caller;
    }

    @AfterAll
    static void stop() {
        if (agent != null) {
            agent.close();
        }
        if (everything != null) {
            everything.destroyForcibly();
        }
    }

    @Test
    void aSessionPastMaxSessionsIsRefusedUntilOneEnds() throws Exception {
        for (String server : List.of("one-session", "one-session-stdio")) {
            String first = caller.initialize(server);
            HttpResponse<String> second = caller.post(server, null, McpRawCaller.initializeBody());
            assertEquals(503, second.statusCode(), second.body());
            JsonNode error = McpRawCaller.JSON.readTree(second.body()).get("error");
            assertEquals(McpErrors.LIMIT, error.get("code").asInt(), second.body());
            assertTrue(error.get("message").asText().contains("mcp.servers." + server + ".max_sessions (1) sessions open"), second.body());

            assertEquals(200, caller.delete(server, first).statusCode());
            caller.delete(server, caller.initialize(server)); // a place was freed
        }
    }

    @Test
    void aCallPastRequestTimeoutGetsATimeoutErrorEventAndTheStreamEndsCleanly() throws Exception {
        String session = caller.initialize("slow");
        McpRawCaller.SseCall call = caller.longCall("slow", session, 10);
        call.awaitProgress();
        JsonNode error = call.error();
        assertEquals(7, error.get("id").asInt());
        assertEquals(McpErrors.UPSTREAM_TIMEOUT, error.get("error").get("code").asInt(), error.toString());
        assertTrue(error.get("error").get("message").asText().contains("within mcp.servers.slow.request_timeout (2 s)"), error.toString());
        assertEquals("failed", outcome("slow", "7"));
        caller.delete("slow", session);
    }

    @Test
    void aResponsePastMaxResponseBytesIsCutWithALimitErrorTheCallerCanParse() throws Exception {
        String session = caller.initialize("small");
        String big = "x".repeat(40_000);
        McpRawCaller.SseCall call = caller.sse("small", session, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
                + "{\"name\":\"echo\",\"arguments\":{\"message\":\"" + big + "\"}}}");
        // The part of the answer that was sent is ended as an event clients ignore; the caller parses only the error.
        List<JsonNode> messages = call.rest();
        assertEquals(List.of("airlock-cut"), call.otherEvents);
        assertEquals(1, messages.size(), messages.toString());
        JsonNode error = messages.get(0);
        assertEquals(9, error.get("id").asInt());
        assertEquals(McpErrors.LIMIT, error.get("error").get("code").asInt(), error.toString());
        assertTrue(error.get("error").get("message").asText().contains("exceeds mcp.servers.small.max_response_bytes (16384 bytes)"),
                error.toString());
        assertEquals("failed", outcome("small", "9"));
        // The session goes on: a small answer still comes back.
        HttpResponse<String> small = caller.post("small", session, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":"
                + "{\"name\":\"echo\",\"arguments\":{\"message\":\"short\"}}}");
        assertTrue(small.body().contains("Echo: short"), small.body());
        caller.delete("small", session);
    }

    @Test
    void anUpstreamOutsideAllowedNetworksIsRefusedByPolicyAndNeverDialled() throws Exception {
        // Only 10.0.0.0/8 is allowed; the server is on loopback (so a failure of the check would still stay on this machine).
        try (McpAgent fenced = McpAgent.start(dir.resolve("fenced"), """
                  allowed_networks: ["10.0.0.0/8"]
                  servers:
                    local-by-name: {url: "http://localhost:%d/mcp"}
                """.formatted(port))) {
            HttpResponse<String> r = fenced.caller.post("local-by-name", null, McpRawCaller.initializeBody());
            JsonNode error = McpRawCaller.JSON.readTree(r.body()).get("error");
            assertEquals(McpErrors.POLICY_DENIED, error.get("code").asInt(), r.body());
            assertTrue(error.get("message").asText().matches("MCP server 'local-by-name' resolves to (127\\.0\\.0\\.1|0:0:0:0:0:0:0:1), "
                    + "outside mcp.allowed_networks \\(10\\.0\\.0\\.0/8\\)"), r.body());
            assertTrue(r.headers().firstValue("mcp-session-id").isEmpty(), "no session was started upstream");
            JsonNode record = McpTunnelIT.auditIn(fenced.fx, "mcp").get(0);
            assertEquals("denied", record.get("outcome").asText(), record.toString());
            assertEquals("mcp.allowed_networks", record.get("rule").asText(), record.toString());
        }
    }

    /** The outcome the audit log gives request {@code rpcId} on {@code server}: recorded before the caller's response ended. */
    private static String outcome(String server, String rpcId) throws Exception {
        List<JsonNode> records = McpTunnelIT.auditIn(agent.fx, "mcp").stream()
                .filter(r -> r.path("server").asText().equals(server) && r.path("rpc_id").asText().equals(rpcId)).toList();
        assertEquals(1, records.size(), records.toString());
        return records.get(0).get("outcome").asText();
    }
}
