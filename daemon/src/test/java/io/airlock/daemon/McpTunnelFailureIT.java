package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What callers see when an upstream dies mid-stream, and what is left when the control link is cut mid-stream: nothing. */
class McpTunnelFailureIT {
    @TempDir
    Path dir;
    Process everything;
    int upstreamPort;
    McpAgent agent;
    AgentFixture fx;
    McpRawCaller caller;

    @BeforeEach
    void start() throws Exception {
        McpPeers.require();
        upstreamPort = AgentFixture.freePort();
        everything = McpPeers.everythingHttp(upstreamPort);
        agent = McpAgent.start(dir, """
                  servers:
                    fragile:
                      url: "http://127.0.0.1:%d/mcp"
                    local:
                      command: ["%s", "%s", "stdio"]
                """.formatted(upstreamPort, McpPeers.node(), McpPeers.everything()));
        fx = agent.fx;
        caller = agent.caller;
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (everything != null) {
            everything.destroyForcibly();
        }
    }

    @Test
    void anUpstreamKilledMidStreamGivesTheCallerAJsonRpcErrorAndACleanEnd() throws Exception {
        String session = caller.initialize("fragile");
        McpRawCaller.SseCall call = caller.longCall("fragile", session, 20);
        call.awaitProgress();
        everything.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        JsonNode error = call.error();
        assertEquals(7, error.get("id").asInt());
        assertEquals(McpErrors.UPSTREAM_UNAVAILABLE, error.get("error").get("code").asInt(), error.toString());
        assertTrue(error.get("error").get("message").asText().contains("MCP server 'fragile' failed mid-response"), error.toString());
        List<JsonNode> records = McpTunnelIT.auditIn(fx, "mcp").stream().filter(r -> r.path("rpc_id").asText().equals("7")).toList();
        assertEquals(1, records.size(), "one record for the request: " + records);
        assertEquals("failed", records.get(0).get("outcome").asText(), records.toString());
        // A new request finds the upstream gone and says so.
        HttpResponse<String> next = caller.post("fragile", session, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}");
        assertEquals(502, next.statusCode(), next.body());
        assertTrue(next.body().contains("unreachable"), next.body());
        // Issue 17.7: the agent's own error for an unreachable upstream is audited as failed, with why.
        JsonNode unreachable = McpTunnelIT.auditIn(fx, "mcp").stream().filter(r -> r.path("rpc_id").asText().equals("8")).findFirst().orElseThrow();
        assertEquals("failed", unreachable.path("outcome").asText(), unreachable.toString());
        assertTrue(unreachable.path("error").asText().contains("unreachable"), unreachable.toString());
        assertEquals("tools/list", unreachable.path("method").asText(), unreachable.toString());
    }

    /** Issue 17.7: a refusal for an unknown server answers with the request's id and is audited as a denial with its method and reason. */
    @Test
    void anUnknownServerIsRefusedWithTheRequestsIdAndAuditedAsDenied() throws Exception {
        HttpResponse<String> r = caller.post("nosuch", null, "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/list\"}");
        assertEquals(404, r.statusCode(), r.body());
        JsonNode answer = McpRawCaller.JSON.readTree(r.body());
        assertEquals(41, answer.path("id").asInt(), r.body());
        assertTrue(answer.path("error").path("message").asText().contains("no MCP server 'nosuch'"), r.body());
        JsonNode record = McpTunnelIT.auditIn(fx, "mcp").stream().filter(x -> x.path("server").asText().equals("nosuch")).findFirst().orElseThrow();
        assertEquals("tools/list", record.path("method").asText(), record.toString());
        assertEquals("41", record.path("rpc_id").asText(), record.toString());
        assertEquals("denied", record.path("outcome").asText(), record.toString());
        assertEquals("mcp.servers", record.path("rule").asText(), record.toString());
        assertTrue(record.path("error").asText().contains("no MCP server 'nosuch'"), record.toString());
    }

    /** Issue 17.7: a GET stream its caller leaves is audited as failed with what happened, not failed without a word. */
    @Test
    void aGetStreamTheCallerLeavesIsAuditedWithWhy() throws Exception {
        String session = caller.initialize("fragile");
        HttpResponse<java.io.InputStream> stream = caller.getStream("fragile", session);
        assertEquals(200, stream.statusCode());
        stream.body().close();
        caller.delete("fragile", session);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<JsonNode> gets;
        do {
            Thread.sleep(100);
            gets = McpTunnelIT.auditIn(fx, "mcp").stream().filter(x -> x.path("http_method").asText().equals("GET")).toList();
        } while (gets.isEmpty() && System.nanoTime() < deadline);
        assertEquals(1, gets.size(), gets.toString());
        JsonNode get = gets.get(0);
        assertTrue(!get.path("outcome").asText().equals("failed") || !get.path("error").asText().isEmpty(), "a failed record says why: " + get);
    }

    @Test
    void cuttingTheControlLinkMidStreamStopsTheStdioProcessAndClosesEveryUpstreamConnection() throws Exception {
        String httpSession = caller.initialize("fragile");
        McpRawCaller.SseCall httpCall = caller.longCall("fragile", httpSession, 60);
        httpCall.awaitProgress();
        String stdioSession = caller.initialize("local");
        McpRawCaller.SseCall stdioCall = caller.longCall("local", stdioSession, 60);
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
}
