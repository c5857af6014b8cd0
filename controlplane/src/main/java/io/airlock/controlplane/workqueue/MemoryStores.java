package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory stores as the API keeps them: memories (a path, UTF-8 content and its SHA-256) that a
 * worker lists, creates, updates with a {@code content_sha256} precondition (409 when it no
 * longer holds) and deletes.
 */
final class MemoryStores {
    static final Pattern PATH = Pattern.compile("/v1/memory_stores/([^/]+)/memories(?:/([^/]+))?");
    /** The API's bound on one memory's content: "The maximum size is 100 kB (102,400 bytes)". */
    static final int MAX_CONTENT = 102_400;
    static final int MAX_MEMORIES = 2_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    record Memory(String id, String path, String content, String sha) {}

    private final Map<String, Map<String, Memory>> stores = new LinkedHashMap<>();

    synchronized String create() {
        String id = WorkQueue.randomId("memstore_");
        stores.put(id, new LinkedHashMap<>());
        return id;
    }

    private Map<String, Memory> store(String id) throws WorkQueue.ApiError {
        Map<String, Memory> s = stores.get(id);
        if (s == null) {
            throw new WorkQueue.ApiError(404, "not_found_error", "no memory store '" + id + "'");
        }
        return s;
    }

    static String sha(String content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static ObjectNode json(Memory m, boolean full) {
        ObjectNode o = JSON.createObjectNode().put("type", "memory").put("id", m.id()).put("path", m.path()).put("content_sha256", m.sha());
        if (full) {
            o.put("content", m.content());
        }
        return o;
    }

    synchronized List<Memory> list(String store) throws WorkQueue.ApiError {
        return new ArrayList<>(store(store).values());
    }

    synchronized Memory get(String store, String id) throws WorkQueue.ApiError {
        Memory m = store(store).get(id);
        if (m == null) {
            throw new WorkQueue.ApiError(404, "not_found_error", "no memory '" + id + "' in store '" + store + "'");
        }
        return m;
    }

    synchronized Memory create(String store, JsonNode body) throws WorkQueue.ApiError {
        Map<String, Memory> s = store(store);
        String path = body.path("path").asText("");
        if (!path.startsWith("/") || path.contains("/../") || path.endsWith("/..") || path.contains("//") || path.length() > 1024) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "path: '" + path + "' (expected an absolute, clean path such as /notes/a.md)");
        }
        if (s.values().stream().anyMatch(m -> m.path().equals(path))) {
            throw new WorkQueue.ApiError(409, "invalid_request_error", "a memory at " + path + " exists");
        }
        if (s.size() >= MAX_MEMORIES) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "the store holds " + MAX_MEMORIES + " memories");
        }
        String content = content(body);
        Memory m = new Memory(WorkQueue.randomId("mem_"), path, content, sha(content));
        s.put(m.id(), m);
        return m;
    }

    synchronized Memory update(String store, String id, JsonNode body) throws WorkQueue.ApiError {
        Memory old = get(store, id);
        JsonNode pre = body.path("precondition");
        if (pre.isObject() && !pre.path("content_sha256").asText("").equals(old.sha())) {
            ObjectNode details = JSON.createObjectNode().put("error_code", "precondition_failed").put("content_sha256", old.sha());
            throw new WorkQueue.ApiError(409, "invalid_request_error", "memory " + id + " changed since " + pre.path("content_sha256").asText(), details);
        }
        String content = content(body);
        Memory m = new Memory(id, old.path(), content, sha(content));
        store(store).put(id, m);
        return m;
    }

    /** Deletes a memory; with {@code expectedSha}, only if it still holds that content (409 otherwise). */
    synchronized void delete(String store, String id, String expectedSha) throws WorkQueue.ApiError {
        Memory m = get(store, id);
        if (expectedSha != null && !expectedSha.equals(m.sha())) {
            throw new WorkQueue.ApiError(409, "invalid_request_error", "expected_content_sha256 does not match the memory's content");
        }
        store(store).remove(id);
    }

    /** Script: puts a memory at {@code path}, creating or replacing it. */
    synchronized Memory put(String store, String path, String content) throws WorkQueue.ApiError {
        for (Memory m : store(store).values()) {
            if (m.path().equals(path)) {
                Memory n = new Memory(m.id(), path, content, sha(content));
                store(store).put(m.id(), n);
                return n;
            }
        }
        return create(store, JSON.createObjectNode().put("path", path).put("content", content));
    }

    private static String content(JsonNode body) throws WorkQueue.ApiError {
        JsonNode c = body.path("content");
        if (!c.isTextual()) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "content: expected UTF-8 text");
        }
        if (c.asText().getBytes(StandardCharsets.UTF_8).length > MAX_CONTENT) {
            throw new WorkQueue.ApiError(413, "request_too_large", "content: at most " + MAX_CONTENT + " bytes (100 kB)");
        }
        return c.asText();
    }

    static Matcher match(String path) {
        return PATH.matcher(path);
    }
}
