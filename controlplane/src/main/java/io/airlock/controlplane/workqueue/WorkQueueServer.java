package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The work queue's HTTP API on loopback, as the published beta describes it (header
 * {@code anthropic-beta: managed-agents-2026-04-01}), plus a script API under {@code /airlock/v1}
 * to create environments and enqueue sessions. Credentials: the environment key as
 * {@code Authorization: Bearer} (poll, ack, list), a work item's sessions token or the
 * environment key (heartbeat, stop), the API key as {@code x-api-key} (retrieve, stats, the
 * script API; the SDK sends it as a bearer token too). Errors are the API's JSON error bodies.
 */
public final class WorkQueueServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkQueueServer.class);
    static final String BETA = "managed-agents-2026-04-01";
    static final String MEMORY_BETA = "agent-memory-2026-07-22";
    /** Request bodies: JSON objects, a tool result with 100 KiB of output the largest; more is refused. */
    private static final int MAX_BODY = 2 << 20;
    /** A request body the log already read, and its tree when it was JSON. */
    private static final class ReadBody extends java.io.ByteArrayInputStream {
        final JsonNode parsed;

        ReadBody(byte[] bytes, JsonNode parsed) {
            super(bytes);
            this.parsed = parsed;
        }
    }
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern WORK = Pattern.compile("/v1/environments/([^/]+)/work(?:/([^/]+)(?:/(ack|heartbeat|stop))?)?");
    private static final Pattern SCRIPT = Pattern.compile("/airlock/v1/environments/([^/]+)(?:/(sessions|healthchecks)|/work/([^/]+)/(stop-extending|take-lease))?");
    private static final Pattern SESSION = Pattern.compile("/v1/sessions/([^/]+)(?:/(events)(?:/(stream))?)?");
    private static final Pattern MEMORY_SCRIPT = Pattern.compile("/airlock/v1/memory_stores(?:/([^/]+)/memories)?");
    private static final Pattern SESSION_SCRIPT = Pattern.compile("/airlock/v1/sessions/([^/]+)/(events|skills|resources|refuse-results)");
    /** A stream with nothing to say sends a ping this often, so both ends notice a dead peer. */
    private static final long PING_MILLIS = 5_000;

    private final WorkQueue queue;
    private final Sessions sessions;
    private final Skills skills = new Skills();
    private final MemoryStores memory = new MemoryStores();
    private final String apiKey;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final RequestLog requests = new RequestLog();

    private WorkQueueServer(InetSocketAddress address, String apiKey, Clock clock) throws IOException {
        this.queue = new WorkQueue(clock);
        this.sessions = new Sessions(clock);
        this.apiKey = apiKey;
        this.server = HttpServer.create(address, 64);
        server.createContext("/", this::handle);
        // A long poll holds its request up to block_ms: virtual threads make that cheap.
        server.setExecutor(threads);
        server.start();
        log.info("reference work queue on {}", url());
    }

    /** Starts on {@code address} (loopback); {@code apiKey} guards retrieve, stats and the script API. */
    public static WorkQueueServer start(InetSocketAddress address, String apiKey, Clock clock) throws IOException {
        return new WorkQueueServer(address, apiKey, clock);
    }

    /** What each platform request (not the script API's) looked like, for comparing workers. */
    public RequestLog requests() {
        return requests;
    }

    public String url() {
        return "http://" + server.getAddress().getHostString() + ":" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            Map<String, String> query = query(ex.getRequestURI().getRawQuery());
            RequestLog.Entry recorded = null;
            try {
                Matcher s = SCRIPT.matcher(path);
                if (s.matches()) {
                    requireApiKey(ex);
                    script(ex, s);
                    return;
                }
                Matcher ms = MEMORY_SCRIPT.matcher(path);
                if (ms.matches()) {
                    requireApiKey(ex);
                    memoryScript(ex, ms);
                    return;
                }
                Matcher ss = SESSION_SCRIPT.matcher(path);
                if (ss.matches()) {
                    requireApiKey(ex);
                    sessionScript(ex, ss);
                    return;
                }
                Matcher m = WORK.matcher(path);
                Matcher sess = SESSION.matcher(path);
                Matcher sk = Skills.PATH.matcher(path);
                Matcher mem = MemoryStores.match(path);
                if (!m.matches() && !sess.matches() && !sk.matches() && !mem.matches()) {
                    throw new WorkQueue.ApiError(404, "not_found_error", "no such endpoint: " + ex.getRequestMethod() + " " + path);
                }
                recorded = requests.add(recordable(ex, path, query));
                requireHeaders(ex, mem.matches() ? MEMORY_BETA : sk.matches() ? null : BETA);
                if (sess.matches()) {
                    session(ex, sess, query);
                } else if (mem.matches()) {
                    requireApiKeyOrAnyItem(ex, false);
                    memory(ex, mem, query);
                } else if (sk.matches()) {
                    requireApiKeyOrAnyItem(ex, true);
                    skills.serve(ex, sk);
                } else {
                    work(ex, m, query);
                }
            } catch (WorkQueue.ApiError e) {
                error(ex, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error(ex, new WorkQueue.ApiError(503, "overloaded_error", "the server is stopping"));
            } finally {
                if (recorded != null) {
                    recorded.status = ex.getResponseCode();
                }
            }
        }
    }

    /**
     * A platform request as the log keeps it (its status is the entry's, filled in once answered). The body is
     * read here, bounded as {@link #body} bounds it, and put back for the handler.
     */
    private RequestLog.Request recordable(HttpExchange ex, String path, Map<String, String> query) throws IOException {
        String bearer = bearer(ex);
        String[] owner = queue.owner(bearer);
        String credential = owner != null ? owner[0] : hasApiKey(ex) ? "api_key" : bearer != null ? "unknown" : "none";
        String shape = "";
        if (!ex.getRequestMethod().equals("GET")) {
            byte[] bytes;
            try (InputStream in = ex.getRequestBody()) {
                bytes = in.readNBytes(MAX_BODY + 1);
            }
            JsonNode parsed = null;
            if (bytes.length > 0 && bytes.length <= MAX_BODY) {
                try {
                    parsed = JSON.readTree(bytes);
                    shape = RequestLog.shape(parsed);
                } catch (IOException e) {
                    shape = "not JSON";
                }
            }
            // Put back for the handler, with the tree, so body() parses it once. (Not an exchange attribute:
            // the JDK's server keeps those per context, shared by every exchange.)
            ex.setStreams(new ReadBody(bytes, parsed), null);
        }
        var h = ex.getRequestHeaders();
        return new RequestLog.Request(owner != null ? owner[1] : "", ex.getRequestMethod(), RequestLog.route(path), RequestLog.query(query),
                String.valueOf(h.getFirst("anthropic-version")), String.valueOf(h.getFirst("anthropic-beta")), credential,
                h.getFirst("anthropic-worker-id") != null, shape, -1, RequestLog.ids(path));
    }

    private void work(HttpExchange ex, Matcher m, Map<String, String> query) throws IOException, WorkQueue.ApiError, InterruptedException {
        String env = m.group(1);
        String id = m.group(2);
        String action = m.group(3);
        String method = ex.getRequestMethod();
        if (id == null && method.equals("GET")) {
            queue.authorizeEnvironmentKey(env, bearer(ex));
            list(ex, env, query);
        } else if ("poll".equals(id) && action == null && method.equals("GET")) {
            queue.authorizeEnvironmentKey(env, bearer(ex));
            long block = number(query, "block_ms", 0, 0, 999);
            Long reclaim = query.containsKey("reclaim_older_than_ms") ? number(query, "reclaim_older_than_ms", 0, 0, Long.MAX_VALUE) : null;
            Optional<WorkQueue.Item> item = queue.poll(env, ex.getRequestHeaders().getFirst("Anthropic-Worker-ID"), block, reclaim);
            if (item.isEmpty()) {
                ex.sendResponseHeaders(204, -1);
                return;
            }
            send(ex, 200, item(item.get()));
        } else if ("stats".equals(id) && action == null && method.equals("GET")) {
            requireApiKeyOr(ex, env);
            WorkQueue.Stats st = queue.stats(env);
            ObjectNode o = JSON.createObjectNode().put("type", "work_queue_stats").put("depth", st.depth()).put("pending", st.pending())
                    .put("workers_polling", st.workersPolling());
            o.put("oldest_queued_at", st.oldestQueuedAt() == null ? null : st.oldestQueuedAt().toString());
            send(ex, 200, o);
        } else if (action == null && method.equals("GET")) {
            requireApiKey(ex);
            send(ex, 200, item(queue.get(env, id)));
        } else if ("ack".equals(action) && method.equals("POST")) {
            queue.authorizeEnvironmentKey(env, bearer(ex));
            send(ex, 200, item(queue.ack(env, id)));
        } else if ("heartbeat".equals(action) && method.equals("POST")) {
            WorkQueue.Item i = queue.authorizeItem(env, id, bearer(ex));
            Integer ttl = query.containsKey("desired_ttl_seconds") ? (int) number(query, "desired_ttl_seconds", 0, 1, 86_400) : null;
            queue.heartbeat(i, query.get("expected_last_heartbeat"), ttl);
            ObjectNode o = JSON.createObjectNode().put("type", "work_heartbeat").put("last_heartbeat", i.lastHeartbeat)
                    .put("lease_extended", queue.extended(i)).put("state", i.state.name()).put("ttl_seconds", i.ttlSeconds);
            send(ex, 200, o);
        } else if ("stop".equals(action) && method.equals("POST")) {
            WorkQueue.Item i = queue.authorizeItem(env, id, bearer(ex));
            JsonNode body = body(ex);
            send(ex, 200, item(queue.stop(i, body.path("force").asBoolean(false))));
        } else {
            throw new WorkQueue.ApiError(405, "invalid_request_error", method + " is not allowed on " + ex.getRequestURI().getRawPath());
        }
    }

    private void list(HttpExchange ex, String env, Map<String, String> query) throws IOException, WorkQueue.ApiError {
        int limit = (int) number(query, "limit", 20, 1, 1000);
        List<WorkQueue.Item> all = queue.list(env);
        int from = 0;
        if (query.containsKey("page")) {
            from = -1;
            for (int k = 0; k < all.size(); k++) {
                if (all.get(k).id.equals(query.get("page"))) {
                    from = k;
                }
            }
            if (from < 0) {
                throw new WorkQueue.ApiError(400, "invalid_request_error", "page: '" + query.get("page") + "' is not a cursor this list gave");
            }
        }
        ArrayNode data = JSON.createArrayNode();
        for (int k = from; k < Math.min(all.size(), from + limit); k++) {
            data.add(item(all.get(k)));
        }
        ObjectNode o = JSON.createObjectNode();
        o.set("data", data);
        o.put("next_page", from + limit < all.size() ? all.get(from + limit).id : null);
        send(ex, 200, o);
    }

    private void script(HttpExchange ex, Matcher s) throws IOException, WorkQueue.ApiError {
        if (!ex.getRequestMethod().equals("POST")) {
            throw new WorkQueue.ApiError(405, "invalid_request_error", "this script endpoint takes POST");
        }
        String env = s.group(1);
        if ("healthchecks".equals(s.group(2))) {
            send(ex, 200, item(queue.enqueue(env, WorkQueue.randomId("hc_"), WorkQueue.HEALTHCHECK)));
        } else if (s.group(2) != null) {
            JsonNode body = body(ex);
            String session = body.path("session_id").asText("");
            WorkQueue.Item i = queue.enqueue(env, session.isEmpty() ? WorkQueue.randomId("sesn_") : session);
            sessions.create(i.sessionId);
            send(ex, 200, item(i));
        } else if ("stop-extending".equals(s.group(4))) {
            queue.stopExtending(env, s.group(3));
            send(ex, 200, JSON.createObjectNode().put("id", s.group(3)).put("lease_extended", false));
        } else if (s.group(4) != null) {
            queue.takeLease(env, s.group(3));
            send(ex, 200, JSON.createObjectNode().put("id", s.group(3)).put("lease_taken", true));
        } else {
            send(ex, 200, JSON.createObjectNode().put("id", env).put("key", queue.createEnvironment(env)));
        }
    }

    private void session(HttpExchange ex, Matcher m, Map<String, String> query) throws IOException, WorkQueue.ApiError, InterruptedException {
        String id = m.group(1);
        if (!hasApiKey(ex) && !queue.grantsSession(bearer(ex), id)) {
            throw new WorkQueue.ApiError(401, "authentication_error", "expected the API key, or the sessions token of a live work item "
                    + "of session '" + id + "' or the key of its environment, as Authorization: Bearer");
        }
        String method = ex.getRequestMethod();
        if (m.group(2) == null && method.equals("GET")) {
            send(ex, 200, sessions.describe(id));
        } else if (m.group(3) != null && method.equals("GET")) {
            stream(ex, id);
        } else if (m.group(2) != null && method.equals("GET")) {
            int limit = (int) number(query, "limit", 20, 1, 1000);
            int from = (int) number(query, "page", 0, 0, Sessions.MAX_EVENTS);
            List<ObjectNode> page = sessions.page(id, from, limit);
            ObjectNode o = JSON.createObjectNode();
            o.putArray("data").addAll(page);
            o.put("next_page", from + page.size() < sessions.size(id) ? Integer.toString(from + page.size()) : null);
            send(ex, 200, o);
        } else if (m.group(2) != null && method.equals("POST")) {
            ObjectNode o = JSON.createObjectNode();
            o.putArray("data").addAll(sessions.post(id, body(ex).path("events")));
            send(ex, 200, o);
        } else {
            throw new WorkQueue.ApiError(405, "invalid_request_error", method + " is not allowed on " + ex.getRequestURI().getRawPath());
        }
    }

    /** Server-sent events: each event as it is appended, named by its type; pings while quiet. */
    private void stream(HttpExchange ex, String id) throws IOException, WorkQueue.ApiError, InterruptedException {
        BlockingQueue<ObjectNode> q = sessions.subscribe(id);
        try {
            ex.getResponseHeaders().set("content-type", "text/event-stream");
            ex.getResponseHeaders().set("cache-control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            // A comment line at once: the JDK server sends the headers with the first bytes, and a
            // client waits for the headers before it reads the list to catch up.
            out.write(": connected\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            while (true) {
                ObjectNode e = q.poll(PING_MILLIS, TimeUnit.MILLISECONDS);
                if (e != null && e.path("type").asText().equals("__overflow")) {
                    return; // the client fell too far behind: it reconnects and reads the list
                }
                String frame = e == null ? "event: ping\ndata: {\"type\": \"ping\"}\n\n"
                        : "event: " + e.path("type").asText() + "\ndata: " + JSON.writeValueAsString(e) + "\n\n";
                out.write(frame.getBytes(StandardCharsets.UTF_8));
                out.flush(); // a client that went away fails this write, which ends the stream
            }
        } finally {
            sessions.unsubscribe(id, q);
        }
    }

    private void memory(HttpExchange ex, Matcher m, Map<String, String> query) throws IOException, WorkQueue.ApiError {
        String store = m.group(1);
        String id = m.group(2);
        String method = ex.getRequestMethod();
        if (id == null && method.equals("GET")) {
            boolean full = "full".equals(query.get("view"));
            // The API's page bounds per view, as the SDK's memory sync names them: basic 100, full 20.
            int limit = (int) number(query, "limit", 20, 1, full ? 20 : 100);
            int from = (int) number(query, "page", 0, 0, MemoryStores.MAX_MEMORIES);
            List<MemoryStores.Memory> all = memory.list(store);
            ObjectNode o = JSON.createObjectNode();
            ArrayNode data = o.putArray("data");
            for (int k = from; k < Math.min(all.size(), from + limit); k++) {
                data.add(MemoryStores.json(all.get(k), full));
            }
            o.put("next_page", from + limit < all.size() ? Integer.toString(from + limit) : null);
            send(ex, 200, o);
        } else if (id == null && method.equals("POST")) {
            send(ex, 200, MemoryStores.json(memory.create(store, body(ex)), true));
        } else if (method.equals("GET")) {
            send(ex, 200, MemoryStores.json(memory.get(store, id), true));
        } else if (method.equals("POST")) {
            send(ex, 200, MemoryStores.json(memory.update(store, id, body(ex)), true));
        } else if (method.equals("DELETE")) {
            memory.delete(store, id, query.get("expected_content_sha256"));
            send(ex, 200, JSON.createObjectNode().put("type", "memory_deleted").put("id", id));
        } else {
            throw new WorkQueue.ApiError(405, "invalid_request_error", method + " is not allowed on " + ex.getRequestURI().getRawPath());
        }
    }

    private void memoryScript(HttpExchange ex, Matcher m) throws IOException, WorkQueue.ApiError {
        String store = m.group(1);
        if (store == null) {
            send(ex, 200, JSON.createObjectNode().put("id", memory.create()));
        } else if (ex.getRequestMethod().equals("GET")) {
            ObjectNode o = JSON.createObjectNode();
            ArrayNode data = o.putArray("data");
            memory.list(store).forEach(x -> data.add(MemoryStores.json(x, true)));
            send(ex, 200, o);
        } else {
            JsonNode body = body(ex);
            send(ex, 200, MemoryStores.json(memory.put(store, body.path("path").asText(""), body.path("content").asText("")), true));
        }
    }

    private void sessionScript(HttpExchange ex, Matcher m) throws IOException, WorkQueue.ApiError {
        String id = m.group(1);
        sessions.create(id);
        JsonNode body = body(ex);
        switch (m.group(2)) {
            case "events" -> {
                if (ex.getRequestMethod().equals("GET")) {
                    ObjectNode o = JSON.createObjectNode();
                    o.putArray("data").addAll(sessions.page(id, 0, Sessions.MAX_EVENTS));
                    send(ex, 200, o);
                    return;
                }
                ObjectNode o = JSON.createObjectNode();
                o.putArray("data").addAll(sessions.append(id, body.path("events")));
                send(ex, 200, o);
            }
            case "refuse-results" -> {
                sessions.refuseResults(id, body.path("count").asInt(1), body.path("status").asInt(413));
                send(ex, 200, JSON.createObjectNode().put("session_id", id).put("refuse_results", body.path("count").asInt(1)));
            }
            case "skills" -> {
                Skills.Version v = skills.add(body.path("name").asText(""), body.path("archive_base64").asText(""),
                        body.path("archive_type").asText("zip"));
                sessions.addSkill(id, v.skillId(), v.id());
                send(ex, 200, JSON.createObjectNode().put("skill_id", v.skillId()).put("version", v.id()));
            }
            default -> {
                if (!body.isObject() || !body.path("type").isTextual()) {
                    throw new WorkQueue.ApiError(400, "invalid_request_error", "expected a resource object with a string 'type'");
                }
                sessions.addResource(id, (ObjectNode) body);
                send(ex, 200, (ObjectNode) body);
            }
        }
    }

    private static ObjectNode item(WorkQueue.Item i) {
        ObjectNode o = JSON.createObjectNode().put("type", "work").put("id", i.id).put("environment_id", i.environmentId)
                .put("state", i.state.name()).put("created_at", i.createdAt.toString()).put("secret", i.secret);
        o.set("data", JSON.createObjectNode().put("type", i.type).put("id", i.sessionId));
        o.put("acknowledged_at", text(i.acknowledgedAt));
        o.put("started_at", text(i.startedAt));
        o.put("latest_heartbeat_at", text(i.latestHeartbeatAt));
        o.put("stop_requested_at", text(i.stopRequestedAt));
        o.put("stopped_at", text(i.stoppedAt));
        ObjectNode meta = JSON.createObjectNode();
        i.metadata.forEach(meta::put);
        o.set("metadata", meta);
        return o;
    }

    private static String text(Instant t) {
        return t == null ? null : t.toString();
    }

    /** The API key, as x-api-key or (as the SDK sends it) Authorization: Bearer. */
    private boolean hasApiKey(HttpExchange ex) {
        return apiKey.equals(ex.getRequestHeaders().getFirst("x-api-key")) || apiKey.equals(bearer(ex));
    }

    private void requireApiKey(HttpExchange ex) throws WorkQueue.ApiError {
        if (!hasApiKey(ex)) {
            throw new WorkQueue.ApiError(401, "authentication_error", "expected the API key (x-api-key or Authorization: Bearer); "
                    + "this endpoint does not take an environment key or a work item's secret");
        }
    }

    private void requireApiKeyOr(HttpExchange ex, String env) throws WorkQueue.ApiError {
        if (!hasApiKey(ex)) {
            queue.authorizeEnvironmentKey(env, bearer(ex));
        }
    }

    /**
     * Skills are per organisation in the API; here any live work item's token may fetch them, and
     * (as the SDK falls back to it) an environment key. Memory stores refuse the environment key,
     * as the SDK says the API does.
     */
    private void requireApiKeyOrAnyItem(HttpExchange ex, boolean environmentKeyToo) throws WorkQueue.ApiError {
        String bearer = bearer(ex);
        if (!hasApiKey(ex) && !queue.isLiveToken(bearer) && !(environmentKeyToo && queue.isEnvironmentKey(bearer))) {
            throw new WorkQueue.ApiError(401, "authentication_error", "expected the API key or a live work item's sessions token"
                    + (environmentKeyToo ? " (or an environment key)" : " (an environment key is not accepted here)") + " as Authorization: Bearer");
        }
    }

    /**
     * What the API requires of every request, as far as the SDK's own requests show it: the
     * {@code anthropic-version} header, and the beta header of the endpoint ({@code beta}; null:
     * none required, as for skills).
     */
    private static void requireHeaders(HttpExchange ex, String beta) throws WorkQueue.ApiError {
        String version = ex.getRequestHeaders().getFirst("anthropic-version");
        if (version == null || version.isBlank()) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "anthropic-version: header is required");
        }
        String betas = ex.getRequestHeaders().getFirst("anthropic-beta");
        if (beta != null && (betas == null || !List.of(betas.replace(" ", "").split(",")).contains(beta))) {
            throw new WorkQueue.ApiError(400, "invalid_request_error", "this endpoint is in beta: the anthropic-beta header must name " + beta);
        }
    }

    private static String bearer(HttpExchange ex) {
        String h = ex.getRequestHeaders().getFirst("Authorization");
        return h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : null;
    }

    private static long number(Map<String, String> query, String name, long absent, long min, long max) throws WorkQueue.ApiError {
        String v = query.get(name);
        if (v == null) {
            return absent;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new WorkQueue.ApiError(400, "invalid_request_error", name + ": '" + v + "' (expected a whole number from " + min + " to " + max + ")");
    }

    private static JsonNode body(HttpExchange ex) throws IOException, WorkQueue.ApiError {
        if (ex.getRequestBody() instanceof ReadBody read && read.parsed != null) {
            return read.parsed;
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] bytes = in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                throw new WorkQueue.ApiError(413, "request_too_large", "the body is over " + MAX_BODY + " bytes");
            }
            if (bytes.length == 0) {
                return JSON.createObjectNode();
            }
            try {
                return JSON.readTree(bytes);
            } catch (IOException e) {
                throw new WorkQueue.ApiError(400, "invalid_request_error", "the body is not JSON: " + e.getMessage());
            }
        }
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    q.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    private static void send(HttpExchange ex, int status, ObjectNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("content-type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void error(HttpExchange ex, WorkQueue.ApiError e) throws IOException {
        ObjectNode err = JSON.createObjectNode().put("type", e.type).put("message", e.getMessage());
        if (e.details != null) {
            err.set("details", e.details);
        }
        ObjectNode o = JSON.createObjectNode().put("type", "error");
        o.set("error", err);
        send(ex, e.status, o);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
