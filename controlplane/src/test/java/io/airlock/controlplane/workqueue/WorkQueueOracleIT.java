package io.airlock.controlplane.workqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference work queue against its oracle: the Anthropic TypeScript SDK from npm (the version
 * mcp-peers/package.json pins), its {@code beta.environments.work} client unchanged (stats, poll
 * with a worker id, ack, heartbeat with compare-and-set and a stale one refused 412, list across
 * pages, retrieve, stop and a second stop refused 409, an empty poll) and its worker helper. The
 * queue is as strict as the API, as far as the SDK's requests show what it requires: those pass,
 * and a request without what the SDK always sends is refused as the API refuses it.
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

    /** Runs a script of mcp-peers/ with node; returns its output once it exited 0. */
    private static String node(String script, Map<String, String> env) throws Exception {
        Prerequisites.requireExecutable("node", "install Debian's nodejs");
        Path sdk = peers().resolve("node_modules/@anthropic-ai/sdk/package.json");
        Prerequisites.require("the npm packages of mcp-peers/", Files.exists(sdk) ? Optional.empty()
                : Optional.of(sdk + " is missing; run 'npm install --no-package-lock' in " + peers()));
        ProcessBuilder pb = new ProcessBuilder(Prerequisites.findOnPath("node").orElseThrow().toString(),
                peers().resolve(script).toString()).directory(peers().toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                p.getInputStream().transferTo(out);
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        boolean ended = p.waitFor(90, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        reader.join(5000);
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(ended, script + " finished: " + text);
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    private static JsonNode get(HttpClient http, String base, String apiKey, String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).header("x-api-key", apiKey)
                .header("anthropic-version", "2026-10-21").header("anthropic-beta", WorkQueueServer.BETA).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    /**
     * The session side against the SDK's own worker helper (EnvironmentWorker.handleItem with
     * its agent toolset): it reads the session, streams its events, runs the tools it finds and
     * posts each result, heartbeats, and stops the item once the session idles.
     */
    @Test
    void theSdkWorkerHelperServesASessionThroughTheReferenceQueue(@TempDir Path workdir) throws Exception {
        String apiKey = WorkQueue.randomId("apikey_");
        try (WorkQueueServer server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            HttpClient http = HttpClient.newHttpClient();
            String envKey = script(http, server.url(), apiKey, "/airlock/v1/environments/env_w", "{}").get("key").asText();
            String workId = script(http, server.url(), apiKey, "/airlock/v1/environments/env_w/sessions", "{\"session_id\":\"sesn_w1\"}")
                    .get("id").asText();
            script(http, server.url(), apiKey, "/airlock/v1/sessions/sesn_w1/events", """
                    {"events":[
                      {"type":"agent.tool_use","id":"toolu_1","name":"bash","input":{"command":"echo hello-$((6*7))"}},
                      {"type":"agent.tool_use","id":"toolu_2","name":"write","input":{"file_path":"notes.txt","content":"abc"}},
                      {"type":"agent.tool_use","id":"toolu_3","name":"read","input":{"file_path":"notes.txt"}}
                    ]}""");
            Thread idle = Thread.ofVirtual().start(() -> {
                try {
                    // The turn ends once every tool has its answer, as the platform would say it.
                    for (int k = 0; k < 600 && results(http, server.url(), apiKey, "sesn_w1").size() < 3; k++) {
                        Thread.sleep(100);
                    }
                    script(http, server.url(), apiKey, "/airlock/v1/sessions/sesn_w1/events",
                            "{\"events\":[{\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"end_turn\"}}]}");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String text = node("workqueue-worker.mjs", Map.of("BASE_URL", server.url(), "ENV_ID", "env_w", "ENV_KEY", envKey,
                    "WORKDIR", workdir.toString(), "ITEMS", "1", "MAX_IDLE_MS", "300"));
            idle.join(10_000);
            assertTrue(text.contains("\"step\":\"handled\""), text);
            Map<String, JsonNode> byId = results(http, server.url(), apiKey, "sesn_w1");
            assertEquals(3, byId.size(), text);
            assertEquals("hello-42", byId.get("toolu_1").get("content").get(0).get("text").asText().strip());
            assertFalse(byId.get("toolu_1").get("is_error").asBoolean());
            assertTrue(byId.get("toolu_3").get("content").get(0).get("text").asText().contains("abc"), byId.toString());
            assertEquals("abc", Files.readString(workdir.resolve("notes.txt")));
            JsonNode item = get(http, server.url(), apiKey, "/v1/environments/env_w/work/" + workId);
            assertEquals("stopped", item.get("state").asText(), "the helper stops the item when it is done");
        }
    }

    private static Map<String, JsonNode> results(HttpClient http, String base, String apiKey, String session) throws Exception {
        Map<String, JsonNode> byId = new HashMap<>();
        for (JsonNode e : get(http, base, apiKey, "/airlock/v1/sessions/" + session + "/events").get("data")) {
            if (e.path("type").asText().equals("user.tool_result")) {
                byId.put(e.get("tool_use_id").asText(), e);
            }
        }
        return byId;
    }

    @Test
    void aRequestWithoutWhatTheSdkSendsIsRefusedAsTheApiRefusesIt() throws Exception {
        String apiKey = WorkQueue.randomId("apikey_");
        try (WorkQueueServer server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            HttpClient http = HttpClient.newHttpClient();
            String envKey = script(http, server.url(), apiKey, "/airlock/v1/environments/env_s", "{}").get("key").asText();
            String store = script(http, server.url(), apiKey, "/airlock/v1/memory_stores", "{}").get("id").asText();
            String poll = "/v1/environments/env_s/work/poll";
            assertRefused(http, server.url() + poll, envKey, null, WorkQueueServer.BETA, 400, "invalid_request_error", "anthropic-version");
            assertRefused(http, server.url() + poll, envKey, "2026-10-21", null, 400, "invalid_request_error", WorkQueueServer.BETA);
            String memories = "/v1/memory_stores/" + store + "/memories";
            assertRefused(http, server.url() + memories, apiKey, "2026-10-21", WorkQueueServer.BETA, 400, "invalid_request_error",
                    WorkQueueServer.MEMORY_BETA);
            assertRefused(http, server.url() + memories, envKey, "2026-10-21", WorkQueueServer.MEMORY_BETA, 401, "authentication_error",
                    "environment key is not accepted");
            // A sessions token does not poll.
            JsonNode item = script(http, server.url(), apiKey, "/airlock/v1/environments/env_s/sessions", "{}");
            String token = JSON.readTree(java.util.Base64.getUrlDecoder().decode(item.get("secret").asText())).get("sessions_token").asText();
            assertRefused(http, server.url() + poll, token, "2026-10-21", WorkQueueServer.BETA, 401, "authentication_error", "environment key");
        }
    }

    private static void assertRefused(HttpClient http, String url, String bearer, String version, String beta, int status, String type,
            String named) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("authorization", "Bearer " + bearer).GET();
        if (version != null) {
            b.header("anthropic-version", version);
        }
        if (beta != null) {
            b.header("anthropic-beta", beta);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        JsonNode n = JSON.readTree(r.body());
        assertEquals("error", n.path("type").asText(), r.body());
        assertEquals(type, n.path("error").path("type").asText(), r.body());
        assertTrue(n.path("error").path("message").asText().contains(named), r.body());
    }

    @Test
    void theOfficialSdkRunsUnchangedAgainstTheReferenceQueue() throws Exception {
        String apiKey = WorkQueue.randomId("apikey_");
        try (WorkQueueServer server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            HttpClient http = HttpClient.newHttpClient();
            String envKey = script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle", "{}").get("key").asText();
            String session = script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle/sessions",
                    "{\"session_id\":\"sesn_oracle1\"}").get("data").get("id").asText();
            script(http, server.url(), apiKey, "/airlock/v1/environments/env_oracle/sessions", "{}");
            assertEquals("sesn_oracle1", session);

            String text = node("workqueue-oracle.mjs", Map.of("BASE_URL", server.url(), "ENV_ID", "env_oracle", "ENV_KEY", envKey,
                    "API_KEY", apiKey));
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
