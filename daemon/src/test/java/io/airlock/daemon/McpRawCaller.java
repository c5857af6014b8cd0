package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.mcp.McpEndpoint;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An MCP caller written by hand against the reference control plane's endpoint, for tests that
 * look at raw HTTP statuses and at SSE events as they arrive (the TypeScript SDK hides both).
 */
final class McpRawCaller {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROTOCOL = "2025-06-18";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final McpEndpoint endpoint;
    private final String agentId;
    private final String token;

    McpRawCaller(McpEndpoint endpoint, String agentId, String token) {
        this.endpoint = endpoint;
        this.agentId = agentId;
        this.token = token;
    }

    private HttpRequest.Builder request(String server, String session) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(endpoint.url(agentId, server))).header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream");
        if (session != null) {
            b.header("Mcp-Session-Id", session).header("Mcp-Protocol-Version", PROTOCOL);
        }
        return b;
    }

    HttpResponse<String> post(String server, String session, String body) throws Exception {
        return http.send(request(server, session).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Opens the session's GET stream (server-to-client messages); the caller closes its body to leave. */
    HttpResponse<java.io.InputStream> getStream(String server, String session) throws Exception {
        return http.send(request(server, session).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    HttpResponse<String> delete(String server, String session) throws Exception {
        return http.send(request(server, session).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** initialize and notifications/initialized; the new session's id. */
    String initialize(String server) throws Exception {
        HttpResponse<String> r = post(server, null, initializeBody());
        assertEquals(200, r.statusCode(), r.body());
        String session = r.headers().firstValue("mcp-session-id").orElseThrow();
        assertEquals(202, post(server, session, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}").statusCode());
        return session;
    }

    static String initializeBody() {
        return "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + PROTOCOL + "\","
                + "\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}";
    }

    /** A tools/call (id 7) of the everything server's long-running tool, answered on an SSE stream read as it comes. */
    SseCall longCall(String server, String session, int seconds) throws Exception {
        return sse(server, session, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                + "\"trigger-long-running-operation\",\"arguments\":{\"duration\":" + seconds + ",\"steps\":" + seconds
                + "},\"_meta\":{\"progressToken\":\"p7\"}}}");
    }

    /** A POST whose response must be an SSE stream, read on a thread of its own. */
    SseCall sse(String server, String session, String body) throws Exception {
        HttpResponse<java.io.InputStream> r = http.send(request(server, session).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        return new SseCall(new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8)));
    }

    /**
     * The messages of one SSE response, parsed as an EventSource would: data lines gathered until
     * an empty line; events of another type than {@code message} are set aside. A message that is
     * not JSON fails the test.
     */
    static final class SseCall {
        final BlockingQueue<JsonNode> messages = new LinkedBlockingQueue<>();
        final List<String> otherEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
        final CompletableFuture<Void> ended = new CompletableFuture<>();

        SseCall(BufferedReader in) {
            Thread.ofVirtual().start(() -> {
                try (in) {
                    StringBuilder data = null;
                    String type = "";
                    String line;
                    while ((line = in.readLine()) != null) {
                        if (line.isEmpty()) {
                            if (data != null && (type.isEmpty() || type.equals("message"))) {
                                messages.add(JSON.readTree(data.toString()));
                            } else if (data != null) {
                                otherEvents.add(type);
                            }
                            data = null;
                            type = "";
                        } else if (line.startsWith("data:")) {
                            String v = line.substring(line.startsWith("data: ") ? 6 : 5);
                            data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
                        } else if (line.startsWith("event:")) {
                            type = line.substring(6).strip();
                        }
                    }
                    ended.complete(null);
                } catch (Exception e) {
                    ended.completeExceptionally(e);
                }
            });
        }

        /**
         * Waits for the first progress notification. The server may send other notifications on the same stream
         * first (server-everything announces {@code notifications/tools/list_changed} when it is ready); a response
         * before any progress fails.
         */
        void awaitProgress() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (true) {
                JsonNode next = messages.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                assertNotNull(next, "no progress notification arrived");
                if (next.path("method").asText().equals("notifications/progress")) {
                    return;
                }
                assertFalse(next.has("id"), "the call ended before any progress: " + next);
            }
        }

        /** Everything up to the end of the response, which must come cleanly within 20 s. */
        List<JsonNode> rest() throws Exception {
            ended.get(20, TimeUnit.SECONDS);
            List<JsonNode> out = new ArrayList<>();
            messages.drainTo(out);
            return out;
        }

        /** The one JSON-RPC error among the rest of the stream. */
        JsonNode error() throws Exception {
            List<JsonNode> rest = rest();
            return rest.stream().filter(m -> m.has("error")).findFirst().orElseThrow(() -> new AssertionError("no error in " + rest));
        }
    }
}
