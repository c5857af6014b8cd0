package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * The session side of the reference: each session's event log (what the agent asked, what the
 * worker answered), its stream subscribers, and the resources and skills a worker fetches. Events
 * get an id and {@code processed_at} on arrival; a stream sees the events sent after it opened,
 * as the API's does (a reconnecting worker reads the list to catch up).
 */
final class Sessions {
    /** Per session; a script that sends more is refused. */
    static final int MAX_EVENTS = 10_000;
    /** Events a slow stream may lag behind before it is cut off (it reconnects and reads the list). */
    static final int STREAM_BUFFER = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One session: its events in order and who listens. */
    static final class Session {
        final String id;
        final List<ObjectNode> events = new ArrayList<>();
        final Set<BlockingQueue<ObjectNode>> streams = new CopyOnWriteArraySet<>();
        final ArrayNode skills = JSON.createArrayNode();
        final ArrayNode resources = JSON.createArrayNode();
        String status = "idle";
        /** Scripted: this many of the next successful tool results are refused with {@link #refusal}. */
        int refuseResults;
        int refusal;

        Session(String id) {
            this.id = id;
        }
    }

    private final Clock clock;
    private final Map<String, Session> sessions = new LinkedHashMap<>();

    Sessions(Clock clock) {
        this.clock = clock;
    }

    synchronized Session create(String id) {
        return sessions.computeIfAbsent(id, Session::new);
    }

    synchronized Session get(String id) throws WorkQueue.ApiError {
        Session s = sessions.get(id);
        if (s == null) {
            throw new WorkQueue.ApiError(404, "not_found_error", "no session '" + id + "'");
        }
        return s;
    }

    /** The session as {@code GET /v1/sessions/{id}} answers it. */
    synchronized ObjectNode describe(String id) throws WorkQueue.ApiError {
        Session s = get(id);
        ObjectNode o = JSON.createObjectNode().put("type", "session").put("id", s.id).put("status", s.status);
        ObjectNode agent = o.putObject("agent").put("type", "agent");
        agent.set("skills", s.skills.deepCopy());
        o.set("resources", s.resources.deepCopy());
        return o;
    }

    /** The next {@code count} results that are not errors are refused with {@code status} (400 or 413), as the API refuses one it cannot take. */
    synchronized void refuseResults(String id, int count, int status) throws WorkQueue.ApiError {
        if (status != 400 && status != 413) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "status: " + status + " (expected 400 or 413)");
        }
        Session s = get(id);
        s.refuseResults = count;
        s.refusal = status;
    }

    /** As the platform's API takes a worker's events: a scripted refusal first. */
    List<ObjectNode> post(String id, JsonNode events) throws WorkQueue.ApiError {
        synchronized (this) {
            Session s = get(id);
            if (s.refuseResults > 0 && events.isArray()) {
                for (JsonNode e : events) {
                    if (e.path("type").asText().equals("user.tool_result") && !e.path("is_error").asBoolean(false)) {
                        s.refuseResults--;
                        throw s.refusal == 413 ? new WorkQueue.ApiError(413, "request_too_large", "the tool result is too large")
                                : new WorkQueue.ApiError(400, "invalid_request_error", "events[0].content: the tool result is not valid");
                    }
                }
            }
        }
        return append(id, events);
    }

    /** Appends events (each an object with a {@code type}); returns them as stored, ids given. */
    List<ObjectNode> append(String id, JsonNode events) throws WorkQueue.ApiError {
        if (!events.isArray() || events.isEmpty()) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "events: expected a non-empty array of event objects");
        }
        List<ObjectNode> stored = new ArrayList<>();
        Session s;
        synchronized (this) {
            s = get(id);
            if (s.events.size() + events.size() > MAX_EVENTS) {
                throw new WorkQueue.ApiError(400, "invalid_request_error", "session '" + id + "' holds " + s.events.size()
                        + " events; at most " + MAX_EVENTS + " are kept");
            }
            for (int k = 0; k < events.size(); k++) {
                JsonNode e = events.get(k);
                if (!e.isObject() || !e.path("type").isTextual()) {
                    throw new WorkQueue.ApiError(400, "invalid_request_error", "events[" + k + "]: expected an object with a string 'type'");
                }
                ObjectNode copy = ((ObjectNode) e).deepCopy();
                if (!copy.hasNonNull("id")) {
                    copy.put("id", WorkQueue.randomId("sevt_"));
                }
                copy.put("processed_at", clock.instant().toString());
                if (copy.path("type").asText().equals("agent.tool_use") && !copy.has("evaluated_permission")) {
                    // The platform evaluates every call's permission before it is emitted (always_allow unless scripted otherwise);
                    // the SDK's session runner runs only calls that carry it (or that an idle lists).
                    copy.put("evaluated_permission", "allow");
                }
                stored.add(copy);
            }
            s.events.addAll(stored);
            applyStatus(s, stored);
        }
        for (BlockingQueue<ObjectNode> q : s.streams) {
            for (ObjectNode e : stored) {
                if (!q.offer(e)) {
                    s.streams.remove(q); // the stream lags too far; its reader ends it and the client reconnects
                    q.clear();
                    q.offer(JSON.createObjectNode().put("type", "__overflow"));
                    break;
                }
            }
        }
        return stored;
    }

    private static void applyStatus(Session s, List<ObjectNode> events) {
        for (ObjectNode e : events) {
            switch (e.path("type").asText()) {
                case "session.status_running" -> s.status = "running";
                case "session.status_idle" -> s.status = "idle";
                case "session.status_terminated", "session.deleted" -> s.status = "terminated";
                default -> { }
            }
        }
    }

    /** A page of events from {@code after} (exclusive index cursor), at most {@code limit}. */
    synchronized List<ObjectNode> page(String id, int from, int limit) throws WorkQueue.ApiError {
        Session s = get(id);
        return new ArrayList<>(s.events.subList(Math.min(from, s.events.size()), Math.min(s.events.size(), from + limit)));
    }

    synchronized int size(String id) throws WorkQueue.ApiError {
        return get(id).events.size();
    }

    BlockingQueue<ObjectNode> subscribe(String id) throws WorkQueue.ApiError {
        BlockingQueue<ObjectNode> q = new ArrayBlockingQueue<>(STREAM_BUFFER);
        get(id).streams.add(q);
        return q;
    }

    void unsubscribe(String id, BlockingQueue<ObjectNode> q) throws WorkQueue.ApiError {
        get(id).streams.remove(q);
    }

    /** Script: attaches a skill (name and version id) the worker downloads. */
    synchronized void addSkill(String id, String skillId, String version) throws WorkQueue.ApiError {
        get(id).skills.addObject().put("type", "custom").put("skill_id", skillId).put("version", version);
    }

    /** Script: attaches a resource (e.g. a memory store) as the session lists it. */
    synchronized void addResource(String id, ObjectNode resource) throws WorkQueue.ApiError {
        get(id).resources.add(resource);
    }
}
