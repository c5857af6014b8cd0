package io.airlock.controlplane.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.driver.Prerequisites;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The reference work queue against its oracle: the Anthropic TypeScript SDK 1.15.0 from npm,
 * its {@code beta.environments.work} client unchanged (stats, poll with a worker id, ack,
 * heartbeat with compare-and-set and a stale one refused 412, list across pages, retrieve,
 * stop and a second stop refused 409, an empty poll).
 */
class WorkQueueOracleIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path peers() {
        return Path.of(System.getProperty("airlock.mcpPeers", "../mcp-peers")).toAbsolutePath().normalize();
    }

    private static JsonNode script(HttpClient http, String base, String apiKey, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("x-api-key", apiKey)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void theOfficialSdkRunsUnchangedAgainstTheReferenceQueue() throws Exception {
        Prerequisites.requireExecutable("node", "install Debian's nodejs");
        Path sdk = peers().resolve("node_modules/@anthropic-ai/sdk/package.json");
        Prerequisites.require("the npm packages of mcp-peers/", Files.exists(sdk) ? Optional.empty()
                : Optional.of(sdk + " is missing; run 'npm install --no-package-lock' in " + peers()));
        String apiKey = WorkQueue.randomId("apikey_");
        try (WorkQueueServer server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            HttpClient http = HttpClient.newHttpClient();
            String envKey = script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle", "{}").get("key").asText();
            String session = script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle/sessions",
                    "{\"session_id\":\"sesn_oracle1\"}").get("data").get("id").asText();
            script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle/sessions", "{}");
            assertEquals("sesn_oracle1", session);

            ProcessBuilder pb = new ProcessBuilder(Prerequisites.findOnPath("node").orElseThrow().toString(),
                    peers().resolve("workqueue-oracle.mjs").toString()).directory(peers().toFile()).redirectErrorStream(true);
            pb.environment().putAll(Map.of("BASE_URL", server.url(), "ENV_ID", "env_oracle", "ENV_KEY", envKey, "API_KEY", apiKey));
            Process p = pb.start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    p.getInputStream().transferTo(out);
                } catch (java.io.IOException ignored) {
                    // the process ended
                }
            });
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the oracle finished");
            reader.join(5000);
            String text = out.toString(StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), text);
            Map<String, JsonNode> steps = new HashMap<>();
            for (String line : text.split("\n")) {
                if (line.startsWith("{")) {
                    JsonNode n = JSON.readTree(line);
                    steps.put(n.get("step").asText(), n);
                }
            }
            assertEquals(2, steps.get("stats").get("depth").asInt(), text);
            assertEquals("work_queue_stats", steps.get("stats").get("type").asText());
            assertEquals("queued", steps.get("poll").get("state").asText(), text);
            assertEquals("session", steps.get("poll").get("data").get("type").asText());
            assertEquals("sesn_oracle1", steps.get("poll").get("data").get("id").asText(), "the oldest first");
            assertTrue(steps.get("poll").get("has_secret").asBoolean());
            assertEquals("starting", steps.get("ack").get("state").asText());
            JsonNode beat = steps.get("heartbeat");
            assertTrue(beat.get("lease_extended").asBoolean(), text);
            assertEquals("active", beat.get("state").asText());
            assertEquals(20, beat.get("ttl_seconds").asInt());
            assertEquals("work_heartbeat", beat.get("type").asText());
            JsonNode stale = steps.get("stale-heartbeat");
            assertEquals(412, stale.get("status").asInt(), text);
            assertEquals("heartbeat_precondition_failed", stale.get("error_code").asText(), text);
            assertEquals("active", stale.get("current_state").asText());
            assertTrue(steps.get("heartbeat-again").get("lease_extended").asBoolean());
            assertTrue(steps.get("heartbeat-again").get("changed").asBoolean());
            assertEquals(2, steps.get("list").get("ids").size(), "both pages: " + text);
            assertEquals("active", steps.get("retrieve").get("state").asText());
            assertEquals("stopped", steps.get("stop").get("state").asText());
            assertEquals(409, steps.get("stop-again").get("status").asInt());
            JsonNode next = steps.get("poll-next");
            assertTrue(!next.get("id").isNull() && !next.get("id").asText().equals(next.get("first").asText()), text);
            assertTrue(steps.get("poll-empty").get("value").isNull(), "nothing left after both were acked: " + text);
        }
    }
}
