package io.airlock.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Watches a session's event stream on the reference queue (as the platform's UI would) and
 * stamps the moment each tool result arrives, so a round trip is timed where the platform sees it.
 */
final class SessionWatch implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, CompletableFuture<Long>> results = new ConcurrentHashMap<>();
    private final InputStream stream;

    SessionWatch(HttpClient http, String base, String apiKey, String session) throws Exception {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + session + "/events/stream"))
                .header("x-api-key", apiKey).header("anthropic-version", "2026-10-21").header("anthropic-beta", "managed-agents-2026-04-01").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("the event stream of " + session + " answered " + r.statusCode());
        }
        stream = r.body();
        Thread.ofVirtual().name("watch-" + session).start(this::read);
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    long now = System.nanoTime();
                    JsonNode e = JSON.readTree(line.substring(6));
                    if (e.path("type").asText().equals("user.tool_result")) {
                        results.computeIfAbsent(e.path("tool_use_id").asText(), k -> new CompletableFuture<>()).complete(now);
                    }
                }
            }
        } catch (Exception e) {
            results.values().forEach(f -> f.completeExceptionally(e));
        }
    }

    /** When the result of {@code toolUseId} arrived (System.nanoTime), waiting up to {@code max}. */
    long arrival(String toolUseId, Duration max) throws Exception {
        return results.computeIfAbsent(toolUseId, k -> new CompletableFuture<>()).get(max.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() throws Exception {
        stream.close();
    }
}
