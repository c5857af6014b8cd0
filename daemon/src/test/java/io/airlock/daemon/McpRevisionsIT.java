package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.mcp.McpEndpoint;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both revisions of MCP through the tunnel, with the official TypeScript SDKs on both sides:
 * v2 (@modelcontextprotocol/client and /server) on the stateless 2026-07-28, v1 on 2025-11-25
 * with a session whose GET stream breaks and resumes with Last-Event-ID; an upstream that does
 * OAuth itself, its 401 and metadata moved to the control plane's URL for it; and the standard
 * headers checked against the body.
 */
class McpRevisionsIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "rev-admin-token";
    static final String MODERN_META = "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
            + "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}";

    @TempDir
    static Path dir;
    static AgentFixture fx;
    static McpEndpoint endpoint;
    static NodePeer v2;
    static NodePeer v2oauth;
    static NodePeer v1;

    @BeforeAll
    static void start() throws Exception {
        McpPeers.require();
        v2 = NodePeer.start("v2-server.mjs", "--keepalive-ms", "150");
        v2oauth = NodePeer.start("v2-server.mjs", "--oauth");
        v1 = NodePeer.start("v1-resumable-server.mjs");
        Path secret = dir.resolve("injected");
        Files.writeString(secret, "Bearer injected-by-the-agent\n");
        fx = new AgentFixture(dir);
        fx.extraConfig = """
                drivers: {enabled: [bubblewrap]}
                mcp:
                  servers:
                    v2:
                      url: "http://127.0.0.1:%1$d/mcp"
                      tools: {deny: [forbidden]}
                    v2-oauth:
                      url: "http://127.0.0.1:%2$d/mcp"
                    v2-injected:
                      url: "http://127.0.0.1:%1$d/mcp"
                      headers: {Authorization: {file: "%3$s"}}
                    v1:
                      url: "http://127.0.0.1:%4$d/mcp"
                """.formatted(v2.port(), v2oauth.port(), secret, v1.port());
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
        for (NodePeer p : new NodePeer[] {v2, v2oauth, v1}) {
            if (p != null) {
                p.close();
            }
        }
    }

    @Test
    void theSdkV2ClientSpeaks2026WithAnSdkV2ServerAndClosingAResponseCancelsUpstream() throws Exception {
        NodePeer client = NodePeer.start("v2-client.mjs", endpoint.url(fx.agentId, "v2"), "--token", TOKEN, "--denied", "forbidden");
        Map<String, JsonNode> steps = byStep(client.finish(Duration.ofSeconds(60)));
        assertEquals("2026-07-28", steps.get("connected").path("protocol").asText(), steps.toString());
        assertEquals("[\"echo\",\"wait\",\"confirm\"]", steps.get("tools/list").path("tools").toString());
        assertEquals("echo: over the 2026 revision", steps.get("tools/call echo").path("text").asText());
        // A server-to-client question as 2026-07-28 has it: an input_required result, then the call again with the answer.
        assertEquals("confirmed: accept {\"ok\":true}", steps.get("tools/call confirm").path("text").asText(), steps.toString());
        v2.await("event", "input-required");
        assertTrue(steps.get("denied").path("refused").asBoolean(), steps.toString());
        assertTrue(steps.get("denied").path("message").asText().contains("mcp.servers.v2.tools.deny"), steps.toString());
        assertTrue(steps.get("cancel").path("aborted").asBoolean(), steps.toString());
        assertTrue(steps.containsKey("done"), steps.toString());

        // The standard headers, and an Mcp-Param header the tunnel does not know, reached the server as sent.
        JsonNode call = v2.await(n -> n.path("event").asText().equals("call") && n.path("region").asText().equals("eu-west ☂"), Duration.ofSeconds(5));
        assertEquals("tools/call", call.path("headers").path("mcp-method").asText(), call.toString());
        assertEquals("echo", call.path("headers").path("mcp-name").asText(), call.toString());
        assertEquals("2026-07-28", call.path("headers").path("mcp-protocol-version").asText(), call.toString());
        assertTrue(call.path("headers").path("mcp-param-region").asText().startsWith("=?base64?"), call.toString());
        // The caller closed its response: the upstream's request was aborted, and the tool saw it.
        v2.await(n -> n.path("event").asText().equals("cancelled"), Duration.ofSeconds(10));

        List<JsonNode> records = McpTunnelIT.auditIn(fx, "mcp").stream().filter(r -> r.path("server").asText().equals("v2")).toList();
        assertTrue(records.stream().anyMatch(r -> r.path("method").asText().equals("server/discover") && r.path("outcome").asText().equals("ok")),
                records.toString());
        assertTrue(records.stream().anyMatch(r -> r.path("tool").asText().equals("echo") && r.path("outcome").asText().equals("ok")
                && r.path("caller_user").asText().equals("bob@example.test")), records.toString());
        assertTrue(records.stream().anyMatch(r -> r.path("tool").asText().equals("forbidden") && r.path("outcome").asText().equals("denied")),
                records.toString());
        assertEquals(2, records.stream().filter(r -> r.path("tool").asText().equals("confirm") && r.path("outcome").asText().equals("ok")).count(),
                "both rounds of the multi-round-trip call are audited: " + records);
        assertTrue(records.stream().anyMatch(r -> r.path("tool").asText().equals("wait") && !r.path("outcome").asText().equals("ok")),
                records.toString());
    }

    @Test
    void headersThatDisagreeWithTheBodyAreRefusedAndAuditedAndNeverReachTheServer() throws Exception {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"forbidden\",\"arguments\":{},"
                + MODERN_META + "}}";
        HttpResponse<String> r = modernPost("v2", body, Map.of("Mcp-Method", "tools/call", "Mcp-Name", "echo"));
        assertEquals(400, r.statusCode(), r.body());
        JsonNode error = JSON.readTree(r.body());
        assertEquals(-32020, error.path("error").path("code").asInt(), r.body());
        assertEquals(7, error.path("id").asInt(), r.body());
        assertTrue(error.path("error").path("message").asText().contains("the Mcp-Name header says 'echo' but the body's params.name is \"forbidden\""),
                r.body());

        HttpResponse<String> m = modernPost("v2", body.replace("forbidden", "echo"), Map.of("Mcp-Method", "prompts/get", "Mcp-Name", "echo"));
        assertEquals(400, m.statusCode(), m.body());
        assertTrue(m.body().contains("the Mcp-Method header says 'prompts/get' but the body calls 'tools/call'"), m.body());

        List<JsonNode> denied = McpTunnelIT.auditIn(fx, "mcp").stream().filter(x -> x.path("rule").asText().equals("standard-headers")).toList();
        assertEquals(2, denied.size(), denied.toString());
        assertEquals("denied", denied.get(0).path("outcome").asText());
        assertEquals("forbidden", denied.get(0).path("tool").asText(), "audited by the body's tool, not the header's");
        assertTrue(v2.lines().stream().noneMatch(n -> n.path("event").asText().equals("call") && n.path("region").isNull()
                && n.path("headers").path("mcp-name").asText().equals("echo") && !n.path("headers").has("mcp-param-region")),
                "a refused request never reached the server: " + v2.lines());
    }

    @Test
    void sseKeepAlivesPassAsTheyComeAndTheResponseSaysNotToBuffer() throws Exception {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"wait\",\"arguments\":{\"seconds\":1},"
                + MODERN_META + "}}";
        HttpResponse<String> r = modernPost("v2", body, Map.of("Mcp-Method", "tools/call", "Mcp-Name", "wait"));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("no", r.headers().firstValue("x-accel-buffering").orElse(""), r.headers().map().toString());
        assertEquals("text/event-stream", r.headers().firstValue("content-type").orElse(""));
        long keepAlives = r.body().lines().filter(l -> l.startsWith(":")).count();
        assertTrue(keepAlives >= 3, "the server's ':' keep-alives (every 150 ms for 1 s) pass: " + r.body());
        assertTrue(r.body().contains("waited 1 s"), r.body());
    }

    @Test
    void anSdkV1ClientResumesABrokenGetStreamWithLastEventIdThroughTheTunnel() throws Exception {
        NodePeer client = NodePeer.start("v1-resume-client.mjs", endpoint.url(fx.agentId, "v1"), TOKEN);
        Map<String, JsonNode> steps = byStep(client.finish(Duration.ofSeconds(60)));
        assertEquals("2025-11-25", steps.get("connected").path("protocol").asText(), steps.toString());
        assertEquals("[\"before\",\"missed 1\",\"missed 2\",\"missed 3\"]", steps.get("resumed").path("received").toString(), steps.toString());
        JsonNode resumed = v1.await(n -> n.path("event").asText().equals("get") && !n.path("last_event_id").isNull(), Duration.ofSeconds(5));
        assertFalse(resumed.path("last_event_id").asText().isEmpty());
        List<JsonNode> gets = McpTunnelIT.auditIn(fx, "mcp").stream()
                .filter(x -> x.path("server").asText().equals("v1") && x.path("http_method").asText().equals("GET")).toList();
        assertTrue(gets.size() >= 2, "the first GET stream and the resumed one: " + gets);
    }

    @Test
    void anUpstreamsOAuthIsPassedThroughItsMetadataMovedToTheControlPlanesUrlAndTheTokenNeverAudited() throws Exception {
        String publicUrl = endpoint.url(fx.agentId, "v2-oauth");
        String metadataUrl = "http://127.0.0.1:" + endpoint.port() + "/.well-known/oauth-protected-resource/mcp/" + fx.agentId + "/v2-oauth";

        // Without a token: the server's own 401, its challenge naming the control plane's metadata URL, scope unchanged.
        HttpResponse<String> r = modernPost("v2-oauth", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" + MODERN_META + "}}",
                Map.of("Mcp-Method", "tools/list"));
        assertEquals(401, r.statusCode(), r.body());
        String challenge = r.headers().firstValue("www-authenticate").orElse("");
        assertEquals("Bearer error=\"invalid_token\", resource_metadata=\"" + metadataUrl + "\", scope=\"mcp:tools\"", challenge);
        // The metadata there names the control plane's URL as the resource; the authorization server is the server's.
        HttpResponse<String> meta = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(metadataUrl)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, meta.statusCode(), meta.body());
        assertEquals(publicUrl, JSON.readTree(meta.body()).path("resource").asText(), meta.body());
        String issuer = "http://127.0.0.1:" + v2oauth.port();
        assertEquals(issuer, JSON.readTree(meta.body()).path("authorization_servers").path(0).asText());

        // The SDK v2 client does the whole dance by itself: 401, metadata, token for the public URL, retry.
        NodePeer client = NodePeer.start("v2-client.mjs", publicUrl, "--token", TOKEN, "--oauth", issuer);
        Map<String, JsonNode> steps = byStep(client.finish(Duration.ofSeconds(60)));
        assertEquals("echo: over the 2026 revision", steps.get("tools/call echo").path("text").asText(), steps.toString());
        JsonNode issued = v2oauth.await("event", "token-issued");
        assertEquals(publicUrl, issued.path("resource").asText(), "the token was asked for the public URL (RFC 8707)");
        String token = issued.path("token").asText();
        JsonNode call = v2oauth.await(n -> n.path("event").asText().equals("call"), Duration.ofSeconds(5));
        assertEquals("Bearer " + token, call.path("headers").path("authorization").asText(), "the caller's token reached the server");

        List<JsonNode> records = McpTunnelIT.auditIn(fx, "mcp").stream().filter(x -> x.path("server").asText().equals("v2-oauth")).toList();
        assertTrue(records.stream().anyMatch(x -> x.path("method").asText().equals("oauth-protected-resource") && x.path("outcome").asText().equals("ok")),
                records.toString());
        assertTrue(records.stream().anyMatch(x -> x.path("tool").asText().equals("echo") && x.path("authorization").asText().equals("caller")),
                records.toString());
        for (Path f : McpTunnelIT.auditFiles(fx)) {
            assertFalse(Files.readString(f).contains(token), "the caller's token never reaches the audit log");
        }
    }

    @Test
    void aCredentialTheAgentInjectsWinsOverTheCallersAuthorization() throws Exception {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"m\","
                + "\"region\":\"injected-test\"}," + MODERN_META + "}}";
        HttpResponse<String> r = modernPost("v2-injected", body, Map.of("Mcp-Method", "tools/call", "Mcp-Name", "echo",
                "Mcp-Param-Region", "injected-test", "Authorization", "Bearer the-callers-own"));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode call = v2.await(n -> n.path("region").asText().equals("injected-test"), Duration.ofSeconds(5));
        assertEquals("Bearer injected-by-the-agent", call.path("headers").path("authorization").asText(), call.toString());
        assertTrue(McpTunnelIT.auditIn(fx, "mcp").stream().anyMatch(x -> x.path("server").asText().equals("v2-injected")
                && x.path("authorization").asText().equals("agent")));
    }

    /** A 2026-07-28 POST through the endpoint, the admin token in its own header. */
    static HttpResponse<String> modernPost(String server, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(endpoint.url(fx.agentId, server)))
                .header("Airlock-Admin-Token", TOKEN).header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream").header("MCP-Protocol-Version", "2026-07-28")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static Map<String, JsonNode> byStep(List<JsonNode> lines) {
        assertTrue(lines.stream().noneMatch(n -> n.path("step").asText().equals("error")), lines.toString());
        return lines.stream().filter(n -> n.has("step")).collect(Collectors.toMap(n -> n.path("step").asText(), n -> n, (a, b) -> b));
    }
}
