package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.mcp.McpEndpoint;
import io.airlock.tunnel.mcp.McpErrors;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What callers see when an upstream dies mid-stream, and what is left when the control link is cut mid-stream: nothing. */
class McpTunnelFailureIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TOKEN = "t";

    @TempDir
    Path dir;
    AgentFixture fx;
    Process everything;
    int upstreamPort;
    McpEndpoint endpoint;
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() throws Exception {
        McpPeers.require();
        upstreamPort = AgentFixture.freePort();
        everything = McpPeers.everythingHttp(upstreamPort);
        fx = new AgentFixture(dir);
        fx.extraConfig = """
                drivers: {enabled: [bubblewrap]}
                mcp:
                  servers:
                    fragile:
                      url: "http://127.0.0.1:%d/mcp"
                    local:
                      command: ["%s", "%s", "stdio"]
                """.formatted(upstreamPort, McpPeers.node(), McpPeers.everything());
        fx.enrollAndStart();
        endpoint = McpEndpoint.start(fx.cp.agents(), new InetSocketAddress("127.0.0.1", 0), TOKEN);
    }

    @AfterEach
    void stop() {
        if (endpoint != null) {
            endpoint.close();
        }
        if (fx != null) {
            fx.close();
        }
        if (everything != null) {
            everything.destroyForcibly();
        }
    }

    @Test
    void anUpstreamKilledMidStreamGivesTheCallerAJsonRpcErrorAndACleanEnd() throws Exception {
        String session = initialize("fragile");
        SseCall call = longCall("fragile", session, 20);
        call.awaitProgress();
        everything.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        List<JsonNode> rest = call.rest();
        JsonNode error = rest.stream().filter(m -> m.has("error")).findFirst().orElseThrow(() -> new AssertionError("no error in " + rest));
        assertEquals(7, error.get("id").asInt());
        assertEquals(McpErrors.UPSTREAM_UNAVAILABLE, error.get("error").get("code").asInt(), error.toString());
        assertTrue(error.get("error").get("message").asText().contains("MCP server 'fragile' failed mid-response"), error.toString());
        List<JsonNode> records = McpTunnelIT.auditIn(fx, "mcp").stream().filter(r -> r.path("rpc_id").asText().equals("7")).toList();
        assertEquals(1, records.size(), "one record for the request: " + records);
        assertEquals("failed", records.get(0).get("outcome").asText(), records.toString());
        // A new request finds the upstream gone and says so.
        HttpResponse<String> next = post("fragile", session, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}");
        assertEquals(502, next.statusCode(), next.body());
        assertTrue(next.body().contains("unreachable"), next.body());
    }

    @Test
    void cuttingTheControlLinkMidStreamStopsTheStdioProcessAndClosesEveryUpstreamConnection() throws Exception {
        String httpSession = initialize("fragile");
        SseCall httpCall = longCall("fragile", httpSession, 60);
        httpCall.awaitProgress();
        String stdioSession = initialize("local");
        SseCall stdioCall = longCall("local", stdioSession, 60);
        stdioCall.awaitProgress();
        List<ProcessHandle> servers = ProcessHandle.current().descendants()
                .filter(p -> p.info().commandLine().orElse("").contains("stdio")).toList();
        assertEquals(1, servers.size(), "one stdio server process for the one session");
        assertTrue(upstreamConnections() > 0, "the HTTP exchange holds a connection to the upstream");

        fx.stopControlPlane();

        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while ((servers.get(0).isAlive() || upstreamConnections() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertFalse(servers.get(0).isAlive(), "the stdio server process was stopped");
        assertEquals(0, upstreamConnections(), "no connection to the HTTP upstream is left open");
        assertEquals(0, fx.daemon.mcpSessions().values().stream().mapToInt(Integer::intValue).sum(), fx.daemon.mcpSessions().toString());
        assertTrue(ProcessHandle.current().descendants().noneMatch(p -> p.info().commandLine().orElse("").contains("stdio")),
                "no stdio server left at all");
    }

    /** ESTABLISHED TCP connections of this machine whose remote end is the HTTP upstream's port (the agent's side of them). */
    private int upstreamConnections() throws Exception {
        int n = 0;
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table)).subList(1, Files.readAllLines(Path.of(table)).size())) {
                String[] f = line.trim().split("\\s+");
                int remotePort = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                if (remotePort == upstreamPort && f[3].equals("01")) {
                    n++;
                }
            }
        }
        return n;
    }

    private HttpResponse<String> post(String server, String session, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(endpoint.url(fx.agentId, server))).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (session != null) {
            b.header("Mcp-Session-Id", session).header("Mcp-Protocol-Version", "2025-06-18");
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String initialize(String server) throws Exception {
        HttpResponse<String> r = post(server, null, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                + "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}");
        assertEquals(200, r.statusCode(), r.body());
        String session = r.headers().firstValue("mcp-session-id").orElseThrow();
        assertEquals(202, post(server, session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}").statusCode());
        return session;
    }

    /** A tools/call of the long-running tool, answered on an SSE stream read as it comes. */
    private SseCall longCall(String server, String session, int seconds) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint.url(fx.agentId, server))).header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
                .header("Mcp-Session-Id", session).header("Mcp-Protocol-Version", "2025-06-18")
                .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                        + "\"trigger-long-running-operation\",\"arguments\":{\"duration\":" + seconds + ",\"steps\":" + seconds
                        + "},\"_meta\":{\"progressToken\":\"p7\"}}}"))
                .build();
        HttpResponse<java.io.InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        return new SseCall(new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8)));
    }

    /** The messages of one SSE response, read on a thread of its own. */
    static final class SseCall {
        final java.util.concurrent.BlockingQueue<JsonNode> messages = new java.util.concurrent.LinkedBlockingQueue<>();
        final CompletableFuture<Void> ended = new CompletableFuture<>();

        SseCall(BufferedReader in) {
            Thread.ofVirtual().start(() -> {
                try (in) {
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (line.startsWith("data:")) {
                            messages.add(JSON.readTree(line.substring(5).strip()));
                        }
                    }
                    ended.complete(null);
                } catch (Exception e) {
                    ended.completeExceptionally(e);
                }
            });
        }

        void awaitProgress() throws InterruptedException {
            JsonNode first = messages.poll(20, TimeUnit.SECONDS);
            assertNotNull(first, "no progress notification arrived");
            assertEquals("notifications/progress", first.path("method").asText(), first.toString());
        }

        /** Everything up to the end of the response, which must come cleanly within 20 s. */
        List<JsonNode> rest() throws Exception {
            ended.get(20, TimeUnit.SECONDS);
            List<JsonNode> out = new ArrayList<>();
            messages.drainTo(out);
            return out;
        }
    }
}
