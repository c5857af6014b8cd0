package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.McpErrors;
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
