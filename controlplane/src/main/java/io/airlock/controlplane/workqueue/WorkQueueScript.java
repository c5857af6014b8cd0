package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A client of the reference queue's script API (and of the reads the API key opens): what tests,
 * {@code airlock dev --worker} and benchmarks use to play the platform's part, i.e. create an
 * environment, enqueue a session, send the agent's tool calls, and read what the worker answered.
 */
public final class WorkQueueScript {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String apiKey;

    public WorkQueueScript(String base, String apiKey) {
        this.base = base;
        this.apiKey = apiKey;
    }

    /** Creates an environment; returns its key. */
    public String createEnvironment(String id) throws IOException, InterruptedException {
        return post("/airlock/v1/environments/" + id, JSON.createObjectNode()).get("key").asText();
    }

    /** Enqueues a work item for a session; returns the item's id. */
    public String enqueue(String environment, String sessionId) throws IOException, InterruptedException {
        return post("/airlock/v1/environments/" + environment + "/sessions", JSON.createObjectNode().put("session_id", sessionId))
                .get("id").asText();
    }

    /** Queues a healthcheck work item; returns its id. */
    public String enqueueHealthcheck(String environment) throws IOException, InterruptedException {
        return post("/airlock/v1/environments/" + environment + "/healthchecks", JSON.createObjectNode()).get("id").asText();
    }

    /** Appends events to a session as the platform would (agent.tool_use, session.status_idle, ...). */
    public void send(String sessionId, List<ObjectNode> events) throws IOException, InterruptedException {
        ObjectNode body = JSON.createObjectNode();
        body.putArray("events").addAll(events);
        post("/airlock/v1/sessions/" + sessionId + "/events", body);
    }

    /** An agent.tool_use event. */
    public static ObjectNode toolUse(String id, String name, ObjectNode input) {
        ObjectNode e = JSON.createObjectNode().put("type", "agent.tool_use").put("id", id).put("name", name);
        e.set("input", input);
        return e;
    }

    /** A session.status_idle that ends the turn. */
    public static ObjectNode idle() {
        ObjectNode e = JSON.createObjectNode().put("type", "session.status_idle");
        e.putObject("stop_reason").put("type", "end_turn");
        return e;
    }

    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    /** Every event of the session, oldest first. */
    public ArrayNode events(String sessionId) throws IOException, InterruptedException {
        return (ArrayNode) get("/airlock/v1/sessions/" + sessionId + "/events").get("data");
    }

    /** The session's user.tool_result events by tool_use_id; a second result for one id is an error. */
    public Map<String, JsonNode> results(String sessionId) throws IOException, InterruptedException {
        Map<String, JsonNode> byId = new LinkedHashMap<>();
        for (JsonNode e : events(sessionId)) {
            if (e.path("type").asText().equals("user.tool_result")) {
                if (byId.put(e.get("tool_use_id").asText(), e) != null) {
                    throw new IllegalStateException("two results for tool use " + e.get("tool_use_id").asText());
                }
            }
        }
        return byId;
    }

    /** A work item as the API's retrieve answers it. */
    public JsonNode item(String environment, String workId) throws IOException, InterruptedException {
        return get("/v1/environments/" + environment + "/work/" + workId);
    }

    /** The platform stops extending the item's lease. */
    public void stopExtending(String environment, String workId) throws IOException, InterruptedException {
        post("/airlock/v1/environments/" + environment + "/work/" + workId + "/stop-extending", JSON.createObjectNode());
    }

    /** Someone else heartbeats the item (with a 300 s lease): the worker's next heartbeat is stale. */
    public void takeLease(String environment, String workId) throws IOException, InterruptedException {
        post("/airlock/v1/environments/" + environment + "/work/" + workId + "/take-lease", JSON.createObjectNode());
    }

    /** The session's next {@code count} successful tool results are refused with {@code status} (400 or 413). */
    public void refuseResults(String sessionId, int count, int status) throws IOException, InterruptedException {
        post("/airlock/v1/sessions/" + sessionId + "/refuse-results", JSON.createObjectNode().put("count", count).put("status", status));
    }

    /** Attaches a skill (a zip or tar archive) to the session's agent. */
    public void addSkill(String sessionId, String name, byte[] archive) throws IOException, InterruptedException {
        post("/airlock/v1/sessions/" + sessionId + "/skills", JSON.createObjectNode().put("name", name)
                .put("archive_base64", java.util.Base64.getEncoder().encodeToString(archive)));
    }

    /** Attaches a resource (e.g. a memory store) to the session. */
    public void addResource(String sessionId, ObjectNode resource) throws IOException, InterruptedException {
        post("/airlock/v1/sessions/" + sessionId + "/resources", resource);
    }

    /** Creates a memory store; returns its id. */
    public String createMemoryStore() throws IOException, InterruptedException {
        return post("/airlock/v1/memory_stores", JSON.createObjectNode()).get("id").asText();
    }

    /** Creates or replaces the memory at {@code path} (absolute, e.g. /notes/a.md). */
    public void putMemory(String store, String path, String content) throws IOException, InterruptedException {
        post("/airlock/v1/memory_stores/" + store + "/memories", JSON.createObjectNode().put("path", path).put("content", content));
    }

    /** The store's memories, content by path. */
    public Map<String, String> memories(String store) throws IOException, InterruptedException {
        Map<String, String> m = new LinkedHashMap<>();
        get("/airlock/v1/memory_stores/" + store + "/memories").get("data").forEach(x -> m.put(x.get("path").asText(), x.get("content").asText()));
        return m;
    }

    /** Attaches a memory store to the session at {@code mountPath} ({@code read_write} or {@code read_only}). */
    public void attachMemoryStore(String sessionId, String store, String mountPath, String access) throws IOException, InterruptedException {
        addResource(sessionId, JSON.createObjectNode().put("type", "memory_store").put("memory_store_id", store)
                .put("mount_path", mountPath).put("access", access));
    }

    private JsonNode post(String path, JsonNode body) throws IOException, InterruptedException {
        return answer(http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).header("x-api-key", apiKey)
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body.toString())).build(),
                HttpResponse.BodyHandlers.ofString()), path);
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        return answer(http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).header("x-api-key", apiKey)
                .header("anthropic-version", "2026-10-21").header("anthropic-beta", WorkQueueServer.BETA).GET().build(),
                HttpResponse.BodyHandlers.ofString()), path);
    }

    private static JsonNode answer(HttpResponse<String> r, String path) throws IOException {
        if (r.statusCode() != 200) {
            throw new IOException(path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }
}
