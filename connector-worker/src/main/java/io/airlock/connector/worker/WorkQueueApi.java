package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The platform's HTTP API as a worker uses it: the work queue of one environment and the session
 * calls a work item's sessions token opens. Every call has a deadline; bodies read are bounded.
 * Every request names the API version ({@value #VERSION}) and the beta of its endpoint, as the
 * official SDK sends them (the platform refuses a request without them): {@value #BETA} for work
 * and sessions, {@value #MEMORY_BETA} for memory stores, none for skills.
 */
public final class WorkQueueApi {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(WorkQueueApi.class);
    public static final String VERSION = "2026-10-21";
    public static final String BETA = "managed-agents-2026-04-01";
    public static final String MEMORY_BETA = "agent-memory-2026-07-22";
    public static final String NO_HEARTBEAT = "NO_HEARTBEAT";
    /** JSON answers are small; a larger one is refused rather than held. */
    static final int MAX_JSON = 8 << 20;
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);
    static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String environmentId;
    private final HttpClient http;

    public WorkQueueApi(URI base, String environmentId, HttpClient http) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b.substring(0, b.length() - 1) : b);
        this.environmentId = environmentId;
        this.http = http;
    }

    public String environmentId() {
        return environmentId;
    }

    /**
     * A work item as polled: its id, what it is for ({@code data.type}: {@code session}, or
     * {@code healthcheck} and whatever else the queue may hand out), the id of that (the session's
     * for a session), and its secret (which holds the sessions token).
     */
    public record Work(String id, String type, String sessionId, String state, Credential sessionsToken) {
        public static final String SESSION = "session";

        public boolean isSession() {
            return SESSION.equals(type);
        }

        @Override
        public String toString() {
            return "Work[" + id + ", " + type + " " + sessionId + ", " + state + "]";
        }
    }

    /** A heartbeat's answer. */
    public record Heartbeat(String lastHeartbeat, boolean leaseExtended, String state, int ttlSeconds) {}

    public Optional<Work> poll(Credential key, String workerId, int blockMs, long reclaimOlderThanMs) throws ApiException, InterruptedException {
        String q = "?block_ms=" + blockMs + (reclaimOlderThanMs > 0 ? "&reclaim_older_than_ms=" + reclaimOlderThanMs : "");
        HttpRequest r = request(workPath("poll") + q, key, Duration.ofMillis(blockMs).plus(CALL_TIMEOUT))
                .header("Anthropic-Worker-ID", workerId).GET().build();
        JsonNode n = call(r);
        if (n == null) {
            return Optional.empty();
        }
        // An item of another type is served too (acked, held, stopped), as the SDK's worker does: one it
        // refused would come back on every poll.
        return Optional.of(new Work(n.path("id").asText(), n.path("data").path("type").asText(Work.SESSION), n.path("data").path("id").asText(),
                n.path("state").asText(), Credential.fromSecret(n.path("secret").asText(null), JSON)));
    }

    /** The queue's depth and pollers: a probe that claims nothing. */
    public JsonNode stats(Credential key) throws ApiException, InterruptedException {
        return call(request(workPath("stats"), key, CALL_TIMEOUT).GET().build());
    }

    public void ack(Credential key, String workId) throws ApiException, InterruptedException {
        call(request(workPath(workId + "/ack"), key, CALL_TIMEOUT).POST(HttpRequest.BodyPublishers.noBody()).build());
    }

    /**
     * Compare-and-set on the last heartbeat; a mismatch is an {@link ApiException} with status 412
     * and the current state in details. {@code timeout} bounds the call: a heartbeat must not
     * outlive the interval it renews.
     */
    public Heartbeat heartbeat(Credential token, String workId, String expectedLast, int ttlSeconds, Duration timeout)
            throws ApiException, InterruptedException {
        String q = "?expected_last_heartbeat=" + URLEncoder.encode(expectedLast, StandardCharsets.UTF_8) + "&desired_ttl_seconds=" + ttlSeconds;
        JsonNode n = call(request(workPath(workId + "/heartbeat") + q, token, timeout).POST(HttpRequest.BodyPublishers.noBody()).build());
        return new Heartbeat(n.path("last_heartbeat").asText(), n.path("lease_extended").asBoolean(false), n.path("state").asText(),
                n.path("ttl_seconds").asInt(0));
    }

    /** Stops the item; one already stopped (409) counts as done. */
    private void stop(Credential token, String workId, boolean force, Duration timeout) throws ApiException, InterruptedException {
        try {
            call(request(workPath(workId + "/stop"), token, timeout)
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"force\":" + force + "}")).build());
        } catch (ApiException e) {
            if (e.status() != 409) {
                throw e;
            }
        }
    }

    static final int STOP_RETRIES = 5;
    static final Duration STOP_ATTEMPT = Duration.ofSeconds(10);
    static final Duration STOP_WITHIN = Duration.ofSeconds(60);

    /**
     * Stops an item this worker holds, as the SDK's worker does: forced, with the item's own
     * credential, each attempt bounded by 10 s and a transient failure retried up to
     * {@value #STOP_RETRIES} times, all within 60 s. When that credential is refused (401) and it
     * was a sessions token, the environment key stops the item, not forced: another worker may
     * serve it by now. True once stopped (or already stopped); a failure is logged.
     */
    public boolean stopHeld(Credential token, Credential key, String workId) throws InterruptedException {
        try {
            retrying(t -> stop(token, workId, true, t));
            return true;
        } catch (ApiException e) {
            ApiException last = e;
            if (e.status() == 401 && token != key) {
                try {
                    retrying(t -> stop(key, workId, false, t));
                    return true;
                } catch (ApiException e2) {
                    last = e2;
                }
            }
            log.warn("cannot stop work item {}: {} {}", workId, last.status(), last.getMessage());
            return false;
        }
    }

    private interface Call {
        void run(Duration timeout) throws ApiException, InterruptedException;
    }

    /**
     * The SDK client's retries: a transient failure again after 0.5 s doubling to 8 s; no attempt
     * runs past the overall bound.
     */
    private static void retrying(Call call) throws ApiException, InterruptedException {
        long deadline = System.nanoTime() + STOP_WITHIN.toNanos();
        long delay = 500;
        for (int attempt = 0; ; attempt++) {
            Duration left = Duration.ofNanos(deadline - System.nanoTime());
            try {
                call.run(left.compareTo(STOP_ATTEMPT) < 0 ? left : STOP_ATTEMPT);
                return;
            } catch (ApiException e) {
                if (!e.transientFailure() || attempt >= STOP_RETRIES || Duration.ofNanos(deadline - System.nanoTime()).toMillis() <= delay) {
                    throw e;
                }
                Thread.sleep(delay);
                delay = Math.min(delay * 2, 8_000);
            }
        }
    }

    public JsonNode session(Credential token, String sessionId) throws ApiException, InterruptedException {
        return call(request("/v1/sessions/" + sessionId, token, CALL_TIMEOUT).GET().build());
    }

    /** One page of the session's events, oldest first; {@code page} null for the first. */
    public JsonNode events(Credential token, String sessionId, String page) throws ApiException, InterruptedException {
        String q = "?limit=1000" + (page == null ? "" : "&page=" + URLEncoder.encode(page, StandardCharsets.UTF_8));
        return call(request("/v1/sessions/" + sessionId + "/events" + q, token, CALL_TIMEOUT).GET().build());
    }

    public void send(Credential token, String sessionId, List<ObjectNode> events) throws ApiException, InterruptedException {
        send(token, sessionId, events, CALL_TIMEOUT);
    }

    /** As above, within {@code timeout} (a result's sends get longer deadlines one after another, as the SDK's). */
    public void send(Credential token, String sessionId, List<ObjectNode> events, Duration timeout) throws ApiException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.putArray("events").addAll(events);
        call(request("/v1/sessions/" + sessionId + "/events", token, timeout).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    /** Opens the session's event stream (server-sent events); the caller reads and closes it. */
    public InputStream stream(Credential token, String sessionId) throws ApiException, InterruptedException {
        // No request timeout: the stream lives as long as the session; pings and the reader's own checks find a dead peer.
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + sessionId + "/events/stream"))
                .header("anthropic-version", VERSION).header("anthropic-beta", BETA).header("authorization", token.bearer())
                .header("accept", "text/event-stream").GET().build();
        HttpResponse<InputStream> resp = send(r);
        if (resp.statusCode() != 200) {
            try (InputStream in = resp.body()) {
                throw error(resp.statusCode(), in.readNBytes(MAX_JSON));
            } catch (IOException e) {
                throw new ApiException(resp.statusCode(), "api_error", "the event stream answered " + resp.statusCode(), null);
            }
        }
        return resp.body();
    }

    public JsonNode skillVersion(Credential token, String skillId, String version) throws ApiException, InterruptedException {
        return call(request("/v1/skills/" + skillId + "/versions/" + version, token, CALL_TIMEOUT, null).GET().build());
    }

    /** A skill version's archive, at most {@code max} bytes. */
    public byte[] skillContent(Credential token, String skillId, String version, int max) throws ApiException, InterruptedException {
        HttpRequest r = request("/v1/skills/" + skillId + "/versions/" + version + "/content", token, CALL_TIMEOUT, null)
                .header("accept", "application/binary").GET().build();
        HttpResponse<InputStream> resp = send(r);
        try (InputStream in = resp.body()) {
            byte[] bytes = in.readNBytes(max + 1);
            if (resp.statusCode() != 200) {
                throw error(resp.statusCode(), bytes);
            }
            if (bytes.length > max) {
                throw new ApiException(0, "too_large", "skill " + skillId + " version " + version + " is over " + max + " bytes", null);
            }
            return bytes;
        } catch (IOException e) {
            throw new ApiException(0, "connection_error", "reading skill " + skillId + ": " + e.getMessage(), null);
        }
    }

    /** A memory as listed (content only in the full view). */
    public record Memory(String id, String path, String sha256, String content) {}

    /** Every memory of a store, with content. */
    public List<Memory> memories(Credential token, String store) throws ApiException, InterruptedException {
        List<Memory> all = new java.util.ArrayList<>();
        String page = null;
        do {
            String q = "?view=full&limit=20" + (page == null ? "" : "&page=" + URLEncoder.encode(page, StandardCharsets.UTF_8));
            JsonNode p = call(request("/v1/memory_stores/" + store + "/memories" + q, token, CALL_TIMEOUT, MEMORY_BETA).GET().build());
            for (JsonNode m : p.path("data")) {
                if (m.path("type").asText().equals("memory")) {
                    all.add(memory(m));
                }
            }
            page = p.path("next_page").isTextual() ? p.path("next_page").asText() : null;
        } while (page != null);
        return all;
    }

    public Memory createMemory(Credential token, String store, String path, String content) throws ApiException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("path", path).put("content", content);
        return memory(call(json(request("/v1/memory_stores/" + store + "/memories", token, CALL_TIMEOUT, MEMORY_BETA), body)));
    }

    /** Replaces a memory's content if it still has {@code expectedSha}; 409 otherwise. */
    public Memory updateMemory(Credential token, String store, String id, String content, String expectedSha)
            throws ApiException, InterruptedException {
        ObjectNode body = JSON.createObjectNode().put("content", content);
        body.putObject("precondition").put("type", "content_sha256").put("content_sha256", expectedSha);
        return memory(call(json(request("/v1/memory_stores/" + store + "/memories/" + id, token, CALL_TIMEOUT, MEMORY_BETA), body)));
    }

    /** Deletes a memory if it still has {@code expectedSha} (null: whatever it holds); 409 otherwise. */
    public void deleteMemory(Credential token, String store, String id, String expectedSha) throws ApiException, InterruptedException {
        String q = expectedSha == null ? "" : "?expected_content_sha256=" + URLEncoder.encode(expectedSha, StandardCharsets.UTF_8);
        call(request("/v1/memory_stores/" + store + "/memories/" + id + q, token, CALL_TIMEOUT, MEMORY_BETA).DELETE().build());
    }

    private static Memory memory(JsonNode m) {
        return new Memory(m.path("id").asText(), m.path("path").asText(), m.path("content_sha256").asText(), m.path("content").asText(null));
    }

    private static HttpRequest json(HttpRequest.Builder b, ObjectNode body) {
        return b.header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
    }

    private String workPath(String rest) {
        return "/v1/environments/" + environmentId + "/work/" + rest;
    }

    private HttpRequest.Builder request(String path, Credential credential, Duration timeout) {
        return request(path, credential, timeout, BETA);
    }

    /** {@code beta} null: the endpoint takes none (skills). */
    private HttpRequest.Builder request(String path, Credential credential, Duration timeout, String beta) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout).header("anthropic-version", VERSION)
                .header("authorization", credential.bearer());
        return beta == null ? b : b.header("anthropic-beta", beta);
    }

    private HttpResponse<InputStream> send(HttpRequest r) throws ApiException, InterruptedException {
        try {
            return http.send(r, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            throw new ApiException(408, "timeout", r.method() + " " + r.uri().getPath() + " timed out", null);
        } catch (IOException e) {
            throw new ApiException(0, "connection_error", r.method() + " " + r.uri().getPath() + ": " + e, null);
        }
    }

    /** The JSON answer, null for 204; a non-2xx answer as an ApiException. */
    private JsonNode call(HttpRequest r) throws ApiException, InterruptedException {
        HttpResponse<InputStream> resp = send(r);
        byte[] body;
        try (InputStream in = resp.body()) {
            body = in.readNBytes(MAX_JSON + 1);
        } catch (IOException e) {
            throw new ApiException(0, "connection_error", r.method() + " " + r.uri().getPath() + ": " + e, null);
        }
        if (resp.statusCode() == 204) {
            return null;
        }
        if (resp.statusCode() / 100 != 2) {
            throw error(resp.statusCode(), body);
        }
        if (body.length > MAX_JSON) {
            throw new ApiException(0, "too_large", r.uri().getPath() + " answered over " + MAX_JSON + " bytes", null);
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new ApiException(resp.statusCode(), "invalid_response", r.uri().getPath() + " answered something not JSON", null);
        }
    }

    private static ApiException error(int status, byte[] body) {
        try {
            JsonNode e = JSON.readTree(body).path("error");
            return new ApiException(status, e.path("type").asText("api_error"), e.path("message").asText("HTTP " + status), e.path("details"));
        } catch (IOException | RuntimeException ex) {
            return new ApiException(status, "api_error", "HTTP " + status, null);
        }
    }
}
