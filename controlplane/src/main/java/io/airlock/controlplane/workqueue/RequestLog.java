package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What each platform request looked like, without its secrets or contents: the route with its
 * ids left out, the query, the headers the API needs, which kind of credential it carried, the
 * body's shape, the status. The differential test compares two workers by it; bounded, the
 * oldest dropped first.
 */
public final class RequestLog {
    static final int MAX = 200_000;
    /** Path segments that are names, not ids: everything else in a route is shown as {}. */
    private static final Set<String> WORDS = Set.of("v1", "environments", "work", "poll", "ack", "heartbeat", "stop", "stats", "sessions",
            "events", "stream", "skills", "versions", "content", "memory_stores", "memories");

    /**
     * @param environment the environment the credential belongs to ("" when none does)
     * @param credential  {@code environment_key}, {@code sessions_token}, {@code api_key}, {@code unknown} (a bearer nobody issued) or {@code none}
     * @param bodyShape   the body's JSON shape ({@link #shape}), "" without a body
     * @param ids         the ids the path names (environment, work item, session, ...), in order
     */
    public record Request(String environment, String method, String route, Map<String, String> query, String anthropicVersion,
            String anthropicBeta, String credential, boolean workerId, String bodyShape, int status, List<String> ids) {}

    /** A request as it came in; its status once answered (-1 while a stream is still open). */
    static final class Entry {
        final Request request;
        volatile int status = -1;

        Entry(Request request) {
            this.request = request;
        }
    }

    private final Deque<Entry> requests = new ArrayDeque<>();

    /** Logs a request when it arrives, so that a stream still open is in the log too. */
    synchronized Entry add(Request r) {
        if (requests.size() >= MAX) {
            requests.removeFirst();
        }
        Entry e = new Entry(r);
        requests.add(e);
        return e;
    }

    /** The requests made with {@code environment}'s credentials, oldest first. */
    public synchronized List<Request> of(String environment) {
        return requests.stream().filter(e -> e.request.environment().equals(environment)).map(e -> {
            Request r = e.request;
            return new Request(r.environment(), r.method(), r.route(), r.query(), r.anthropicVersion(), r.anthropicBeta(), r.credential(),
                    r.workerId(), r.bodyShape(), e.status, r.ids());
        }).toList();
    }

    static List<String> ids(String path) {
        List<String> out = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty() && !WORDS.contains(part)) {
                out.add(part);
            }
        }
        return out;
    }

    static String route(String path) {
        StringBuilder b = new StringBuilder();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                b.append('/').append(WORDS.contains(part) ? part : "{}");
            }
        }
        return b.toString();
    }

    /** Query values that are ids or cursors are left out; counts, flags and words (a view's name) are kept. */
    static Map<String, String> query(Map<String, String> query) {
        Map<String, String> out = new TreeMap<>();
        query.forEach((k, v) -> out.put(k, v.matches("[0-9]{1,9}|[a-z]{1,16}") ? v : "{}"));
        return out;
    }

    /** A JSON value's shape: objects by sorted keys, arrays by the union of their elements' shapes, scalars by type. */
    static String shape(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "";
        }
        if (n.isObject()) {
            StringBuilder b = new StringBuilder("{");
            Map<String, JsonNode> fields = new TreeMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                fields.put(e.getKey(), e.getValue());
            }
            fields.forEach((k, v) -> b.append(b.length() > 1 ? "," : "").append(k).append(':').append(shape(v)));
            return b.append('}').toString();
        }
        if (n.isArray()) {
            Set<String> kinds = new TreeSet<>();
            n.forEach(e -> kinds.add(shape(e)));
            return "[" + String.join("|", kinds) + "]";
        }
        if (n.isTextual()) {
            return "string";
        }
        if (n.isNumber()) {
            return "number";
        }
        if (n.isBoolean()) {
            return "boolean";
        }
        return "null";
    }
}
