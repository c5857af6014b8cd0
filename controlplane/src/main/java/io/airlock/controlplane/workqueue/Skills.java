package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Skill versions a session's agent uses: metadata ({@code GET /v1/skills/{id}/versions/{v}})
 * and the archive ({@code .../content}), as the API serves them. The script API adds them; the
 * reference keeps the archive as given (zip or tar), so tests can hand a worker a hostile one.
 */
final class Skills {
    static final Pattern PATH = Pattern.compile("/v1/skills/([^/]+)/versions/([^/]+)(/content)?");
    /** A skill archive the script API takes: it arrives inside one JSON body. */
    static final int MAX_ARCHIVE = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    record Version(String skillId, String id, String name, byte[] archive) {}

    private final Map<String, Version> versions = new ConcurrentHashMap<>();

    Version add(String name, String archiveBase64, String type) throws WorkQueue.ApiError {
        if (name.isBlank()) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "name: expected the skill's name");
        }
        byte[] archive;
        try {
            archive = Base64.getDecoder().decode(archiveBase64);
        } catch (IllegalArgumentException e) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "archive_base64: not base64 (" + e.getMessage() + ")");
        }
        if (archive.length == 0 || archive.length > MAX_ARCHIVE) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "archive_base64: expected 1 to " + MAX_ARCHIVE + " bytes of zip or tar");
        }
        Version v = new Version(WorkQueue.randomId("skill_"), WorkQueue.randomId("skillver_"), name, archive);
        versions.put(v.skillId() + "/" + v.id(), v);
        return v;
    }

    void serve(HttpExchange ex, Matcher m) throws IOException, WorkQueue.ApiError {
        Version v = versions.get(m.group(1) + "/" + m.group(2));
        if (v == null) {
            throw new WorkQueue.ApiError(404, "not_found_error", "no version '" + m.group(2) + "' of skill '" + m.group(1) + "'");
        }
        if (m.group(3) == null) {
            ObjectNode o = JSON.createObjectNode().put("type", "skill_version").put("id", v.id()).put("skill_id", v.skillId())
                    .put("name", v.name()).put("version", v.id());
            byte[] bytes = JSON.writeValueAsBytes(o);
            ex.getResponseHeaders().set("content-type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
            return;
        }
        ex.getResponseHeaders().set("content-type", "application/octet-stream");
        ex.sendResponseHeaders(200, v.archive().length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(v.archive());
        }
    }
}
