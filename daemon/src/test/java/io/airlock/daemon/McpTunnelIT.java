package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.mcp.McpEndpoint;
import io.airlock.core.audit.AuditVerifier;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MCP tunnel end to end with real peers from npm: the everything server as the private
 * server (over Streamable HTTP and over stdio), the official TypeScript SDK as the caller,
 * through the reference control plane's MCP endpoint, over the agent's mTLS connection.
 */
class McpTunnelIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "test-admin-token";

    @TempDir
    static Path dir;
    static AgentFixture fx;
    static Process everything;
    static McpEndpoint endpoint;
    static com.sun.net.httpserver.HttpServer recorder;
    static final java.util.concurrent.BlockingQueue<com.sun.net.httpserver.Headers> recorded = new java.util.concurrent.LinkedBlockingQueue<>();

    @BeforeAll
    static void start() throws Exception {
        McpPeers.require();
        int port = AgentFixture.freePort();
        everything = McpPeers.everythingHttp(port);
        recorder = recordingUpstream();
        Path secret = dir.resolve("upstream-token");
        Files.writeString(secret, "s3cret-from-a-file\n");
        fx = new AgentFixture(dir);
        fx.extraConfig = """
                drivers: {enabled: [bubblewrap]}
                mcp:
                  servers:
                    everything:
                      url: "http://127.0.0.1:%d/mcp"
                      tools: {deny: [get-sum]}
                    everything-stdio:
                      command: ["%s", "%s", "stdio"]
                      tools: {deny: [get-sum]}
                    recorder:
                      url: "http://127.0.0.1:%d/mcp"
                      headers: {X-Upstream-Token: {file: "%s"}}
                      max_request_bytes: 128KiB
                """.formatted(port, McpPeers.node(), McpPeers.everything(), recorder.getAddress().getPort(), secret);
        fx.enrollAndStart();
        endpoint = McpEndpoint.start(fx.cp.agents(), new InetSocketAddress("127.0.0.1", 0), TOKEN);
    }

    @AfterAll
    static void stop() {
        if (endpoint != null) {
            endpoint.close();
        }
        if (fx != null) {
            fx.close();
        }
        if (everything != null) {
            everything.destroyForcibly();
        }
        if (recorder != null) {
            recorder.stop(0);
        }
    }

    /** An HTTP upstream that records the headers it gets and answers every POST with an empty result. */
    static com.sun.net.httpserver.HttpServer recordingUpstream() throws Exception {
        var server = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        server.createContext("/mcp", x -> {
            recorded.add(x.getRequestHeaders());
            JsonNode request = JSON.readTree(x.getRequestBody());
            byte[] body = ("{\"jsonrpc\":\"2.0\",\"id\":" + request.get("id") + ",\"result\":{}}").getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "application/json");
            x.getResponseHeaders().set("Mcp-Session-Id", "recorded-session");
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        return server;
    }

    /** A POST through the reference endpoint, the way any MCP client sends it. */
    static java.net.http.HttpResponse<String> post(String server, String session, String body) throws Exception {
        var b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(endpoint.url(fx.agentId, server)))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (session != null) {
            b.header("Mcp-Session-Id", session).header("Mcp-Protocol-Version", "2025-06-18");
        }
        return java.net.http.HttpClient.newHttpClient().send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    static final String INITIALIZE = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
            + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}";

    @Test
    void aBodyLargerThanACommandCarriesRidesTheDataStreamAndOneOverTheServersLimitIsRefusedNamingIt() throws Exception {
        var init = post("everything", null, INITIALIZE);
        assertEquals(200, init.statusCode(), init.body());
        String session = init.headers().firstValue("mcp-session-id").orElseThrow();
        assertEquals(202, post("everything", session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}").statusCode());
        String big = "x".repeat(200 * 1024); // more than the 64 KiB the endpoint inlines in the command
        var echo = post("everything", session, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
                + "\"arguments\":{\"message\":\"" + big + "\"}}}");
        assertEquals(200, echo.statusCode());
        assertTrue(echo.body().contains("Echo: " + big), "the whole message came back: " + echo.body().length() + " characters");

        var refused = post("recorder", null, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{\"pad\":\"" + big + "\"}}");
        assertEquals(413, refused.statusCode(), refused.body());
        // A whole answer crosses the link as one frame (head, body and end), and the endpoint writes it at once, with its length.
        assertEquals(String.valueOf(refused.body().getBytes(java.nio.charset.StandardCharsets.UTF_8).length),
                refused.headers().firstValue("content-length").orElse("none (chunked)"));
        JsonNode error = JSON.readTree(refused.body()).get("error");
        assertEquals(io.airlock.tunnel.mcp.jsonrpc.McpErrors.LIMIT, error.get("code").asInt());
        assertTrue(error.get("message").asText().contains("exceeds mcp.servers.recorder.max_request_bytes (131072 bytes)"), error.toString());
    }

    @Test
    void theUpstreamSeesTheAgentsCredentialNeverTheCallersAndAnIdentityThatVerifiesWithThePublishedKey() throws Exception {
        var http = java.net.http.HttpClient.newHttpClient();
        var response = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(endpoint.url(fx.agentId, "recorder")))
                .header("Authorization", "Bearer " + TOKEN)
                .header("X-Upstream-Token", "from-the-control-plane")
                .header("Cookie", "session=from-the-control-plane")
                .header("Airlock-Caller-User", "bob@example.test")
                .header("Airlock-Caller-Agent", "billing-agent")
                .header("Airlock-Caller-Session", "run-42")
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
                                + "\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}"))
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals("recorded-session", response.headers().firstValue("mcp-session-id").orElse(""));
        var headers = recorded.poll(10, java.util.concurrent.TimeUnit.SECONDS);
        assertNotNull(headers);
        assertEquals(List.of("s3cret-from-a-file"), headers.get("X-Upstream-Token"), "only the agent's credential, once");
        assertEquals(null, headers.get("Cookie"), "other caller headers are dropped");
        assertEquals(null, headers.get("Authorization"), "the control plane's own token never reaches the upstream");
        String token = headers.getFirst("Airlock-Caller");
        assertNotNull(token, "the caller's identity is forwarded: " + headers.keySet());

        // Verify it with the key the agent publishes on its admin endpoint, as a server would.
        String admin = Files.readString(fx.root.resolve("agent/admin.address")).strip();
        String jwks = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + admin + "/mcp/jwks.json")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertEquals(JSON.readTree(jwks), JSON.readTree(Files.readString(fx.root.resolve("agent/mcp/caller-jwks.json"))));
        var verifier = io.airlock.tunnel.mcp.identity.CallerTokenVerifier.fromJwks(jwks, java.time.Clock.systemUTC());
        var caller = verifier.verify(token, "recorder");
        assertEquals("bob@example.test", caller.user());
        assertEquals("billing-agent", caller.agent());
        assertEquals("run-42", caller.session());
        assertEquals("airlock:" + fx.agentId, caller.issuer());
        long now = java.time.Instant.now().getEpochSecond();
        assertTrue(caller.expires().getEpochSecond() > now && caller.expires().getEpochSecond() <= now + 301, caller.toString());
        assertEquals("EdDSA", JSON.readTree(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[0])).get("alg").asText());
    }

    @Test
    void theTypescriptClientWorksUnchangedThroughTheTunnelOverStreamableHttp() throws Exception {
        scenario("everything");
    }

    @Test
    void theTypescriptClientWorksUnchangedThroughTheTunnelOverStdio() throws Exception {
        scenario("everything-stdio");
        // The DELETE at the end stopped the session's process.
        assertEquals(0, fx.daemon.mcpSessions().get("everything-stdio"), "no stdio session left after the client ended it");
    }

    private void scenario(String server) throws Exception {
        List<JsonNode> steps = new ArrayList<>();
        for (String line : McpPeers.scenario(endpoint.url(fx.agentId, server), TOKEN, "get-sum")) {
            steps.add(JSON.readTree(line));
        }
        Map<String, JsonNode> byStep = steps.stream().collect(Collectors.toMap(s -> s.get("step").asText(), s -> s, (a, b) -> b));
        assertFalse(byStep.containsKey("error"), "the scenario failed: " + steps);
        String session = byStep.get("initialize").path("session").asText();
        assertFalse(session.isEmpty(), "a session id came back: " + steps);
        assertTrue(byStep.get("initialize").path("server").path("name").asText().contains("everything"), steps.toString());
        List<String> tools = new ArrayList<>();
        byStep.get("tools/list").get("tools").forEach(t -> tools.add(t.asText()));
        assertTrue(tools.contains("echo") && tools.contains("trigger-long-running-operation"), tools.toString());
        assertEquals("Echo: hello through the tunnel", byStep.get("tools/call echo").get("text").asText());
        JsonNode progress = byStep.get("tools/call progress").get("progress");
        assertEquals(3, progress.size(), "three progress notifications were relayed: " + progress);
        assertTrue(byStep.get("resources").get("count").asInt() > 0);
        assertEquals(1, byStep.get("resources").get("read").asInt());
        assertTrue(byStep.get("prompts/get").get("messages").asInt() > 0);
        JsonNode denied = byStep.get("denied");
        assertTrue(denied.get("refused").asBoolean(), steps.toString());
        assertEquals(io.airlock.tunnel.mcp.jsonrpc.McpErrors.POLICY_DENIED, denied.get("code").asInt(), denied.toString());
        assertTrue(denied.get("message").asText().contains("mcp.servers." + server + ".tools.deny"), denied.toString());
        assertTrue(byStep.containsKey("done"), steps.toString());

        // One audit record per request of the session, outcomes told, arguments never in the clear.
        List<JsonNode> records = audit("mcp").stream().filter(r -> r.path("server").asText().equals(server)
                && r.path("mcp_session").asText().equals(session)).toList();
        Map<String, Long> byMethod = records.stream().collect(Collectors.groupingBy(r -> r.path("method").asText(), Collectors.counting()));
        assertEquals(1L, byMethod.get("initialize"), byMethod.toString());
        assertEquals(1L, byMethod.get("tools/list"), byMethod.toString());
        assertEquals(3L, byMethod.get("tools/call"), byMethod.toString());
        assertEquals(1L, byMethod.get("resources/list"), byMethod.toString());
        assertEquals(1L, byMethod.get("resources/read"), byMethod.toString());
        assertEquals(1L, byMethod.get("prompts/get"), byMethod.toString());
        List<JsonNode> calls = records.stream().filter(r -> r.path("method").asText().equals("tools/call")).toList();
        JsonNode echo = calls.stream().filter(r -> r.path("tool").asText().equals("echo")).findFirst().orElseThrow();
        assertEquals("ok", echo.path("outcome").asText(), echo.toString());
        assertTrue(echo.path("args_hmac").asText().startsWith("hmac-sha256:"), echo.toString());
        assertEquals("alice@example.test", echo.path("caller_user").asText());
        JsonNode refusal = calls.stream().filter(r -> r.path("tool").asText().equals("get-sum")).findFirst().orElseThrow();
        assertEquals("denied", refusal.path("outcome").asText(), refusal.toString());
        assertEquals("mcp.servers." + server + ".tools.deny", refusal.path("rule").asText());
        assertTrue(records.stream().allMatch(r -> r.path("rpc_id").isMissingNode() || !r.path("outcome").asText().equals("no_response")),
                records.toString());
        for (Path f : auditFiles()) {
            assertFalse(Files.readString(f).contains("hello through the tunnel"), "tool arguments never appear in the audit log");
        }
        assertTrue(AuditVerifier.verify(fx.root.resolve("agent/audit")).ok());
    }

    static List<Path> auditFiles() throws Exception {
        return auditFiles(fx);
    }

    static List<Path> auditFiles(AgentFixture fx) throws Exception {
        try (var files = Files.list(fx.root.resolve("agent/audit"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList();
        }
    }

    static List<JsonNode> audit(String type) throws Exception {
        return auditIn(fx, type);
    }

    static List<JsonNode> auditIn(AgentFixture fx, String type) throws Exception {
        List<JsonNode> records = new ArrayList<>();
        for (Path file : auditFiles(fx)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode n = JSON.readTree(line);
                if (n.path("type").asText().equals(type)) {
                    records.add(n);
                }
            }
        }
        return records;
    }
}
