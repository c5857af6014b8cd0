package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.driver.Prerequisites;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's loopback admin endpoint: health, readiness that follows the control connection, parseable metrics, status. */
class AdminEndpointIT {
    static final Duration T = Duration.ofSeconds(30);
    static final String PYTHON = "/usr/bin/python3";
    @TempDir
    Path dir;
    AgentFixture fx;
    final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        var a = fx.daemon.adminAddress();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.getPort() + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private void awaitStatus(String path, int status) throws Exception {
        long deadline = System.nanoTime() + T.toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            last = get(path).statusCode();
            if (last == status) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(path + " stayed " + last + ", expected " + status);
    }

    @Test
    void readinessFollowsTheControlConnectionAndMetricsParse() throws Exception {
        Prerequisites.require("Debian's python3-prometheus-client (the reference text-format parser)", checkParser());
        fx = new AgentFixture(dir);
        fx.extraConfig = """
                mcp:
                  servers:
                    inventory: {command: ["/bin/cat"]}
                """;
        fx.enrollAndStart();
        assertTrue(fx.daemon.adminAddress().getAddress().isLoopbackAddress());
        assertEquals(200, get("/healthz").statusCode());
        awaitStatus("/readyz", 200);
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("metered").build(), T);
        fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("metered").addArgv("true").build(), null, c -> { }, T);

        HttpResponse<String> metrics = get("/metrics");
        assertEquals(200, metrics.statusCode());
        Path text = dir.resolve("metrics.txt");
        Files.writeString(text, metrics.body());
        // Prometheus' own Python client parses it; print "family sample value" for what we look for.
        Process p = new ProcessBuilder(PYTHON, "-c", """
                import sys
                from prometheus_client.parser import text_string_to_metric_families
                for f in text_string_to_metric_families(open(sys.argv[1]).read()):
                    for s in f.samples:
                        print(f.name, s.name, sorted(s.labels.items()), s.value)
                """, text.toString()).redirectErrorStream(true).start();
        String parsed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "the text format parses: " + parsed);
        assertTrue(parsed.contains("airlock_commands airlock_commands_total [('action', 'exec'), ('outcome', 'OK')] 1.0"), parsed);
        assertTrue(parsed.contains("airlock_sandboxes airlock_sandboxes [('state', 'READY')] 1.0"), parsed);
        assertTrue(parsed.contains("airlock_connections airlock_connections [] 1.0"), parsed);
        assertTrue(parsed.contains("airlock_exec_duration_seconds airlock_exec_duration_seconds_count [] 1.0"), parsed);
        assertTrue(parsed.contains("airlock_audit_append_seconds"), parsed);
        // Issue 17.15: series that alerts name exist from the start, at zero, before their first event.
        assertTrue(parsed.contains("airlock_certificate_renewals airlock_certificate_renewals_total [('outcome', 'failed')] 0.0"), parsed);
        assertTrue(parsed.contains("airlock_certificate_renewals airlock_certificate_renewals_total [('outcome', 'ok')] 0.0"), parsed);
        for (String decision : List.of("allow", "deny", "abandoned")) {
            assertTrue(parsed.contains("airlock_egress_connections airlock_egress_connections_total [('decision', '" + decision + "')] 0.0"), parsed);
        }
        assertTrue(parsed.contains("airlock_mcp_messages airlock_mcp_messages_total [('outcome', 'denied'), ('server', 'inventory')] 0.0"), parsed);
        assertTrue(parsed.contains("airlock_mcp_sessions airlock_mcp_sessions [('server', 'inventory')] 0.0"), parsed);
        assertTrue(parsed.contains("jvm_memory_used_bytes"), "JVM metrics: " + parsed.lines().limit(5).toList());

        var status = new ObjectMapper().readTree(get("/status").body());
        assertEquals(fx.agentId, status.path("agent_id").asText());
        assertTrue(status.path("ready").asBoolean());
        assertEquals(1, status.path("sandboxes").path("READY").asInt());

        fx.stopControlPlane();
        awaitStatus("/readyz", 503);
        assertEquals(200, get("/healthz").statusCode(), "alive while not ready");
        fx.startControlPlane();
        awaitStatus("/readyz", 200);
        assertEquals(405, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.daemon.adminAddress().getPort() + "/readyz"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        fx.cp.agents().destroy(fx.agentId, "metered", T);
    }

    private static Optional<String> checkParser() {
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import prometheus_client.parser").redirectErrorStream(true).start();
            return p.waitFor() == 0 ? Optional.empty() : Optional.of("apt-get install python3-prometheus-client");
        } catch (Exception e) {
            return Optional.of("apt-get install python3 python3-prometheus-client (" + e.getMessage() + ")");
        }
    }
}
