package io.airlock.controlplane.workqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The queue's state: environments, their keys, and work items moving queued → starting →
 * active → stopping → stopped. One lock for all of it (a reference, not a fleet); every wait on
 * it has a deadline. Bounded: at most {@link #MAX_ITEMS} items per environment.
 */
final class WorkQueue {
    static final int MAX_ITEMS = 10_000;
    static final String NO_HEARTBEAT = "NO_HEARTBEAT";
    static final int DEFAULT_TTL_SECONDS = 30;
    /** {@code reclaim_older_than_ms} when a poll does not say: the published default. */
    static final long DEFAULT_RECLAIM_MS = 5_000;
    static final String SESSION = "session";
    static final String HEALTHCHECK = "healthcheck";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper();

    enum State {
        queued, starting, active, stopping, stopped
    }

    /** Thrown with the HTTP status and Anthropic error type the API answers with. */
    static final class ApiError extends Exception {
        final int status;
        final String type;
        final ObjectNode details;

        ApiError(int status, String type, String message) {
            this(status, type, message, null);
        }

        ApiError(int status, String type, String message, ObjectNode details) {
            super(message);
            this.status = status;
            this.type = type;
            this.details = details;
        }
    }

    static final class Item {
        final String id;
        final String environmentId;
        /** What the item is for ({@code data.type}): a session, or a healthcheck. */
        final String type;
        /** {@code data.id}: the session's id, or the healthcheck's. */
        final String sessionId;
        final Instant createdAt;
        final String secret;
        final String sessionsToken;
        final Map<String, String> metadata = new LinkedHashMap<>();
        State state = State.queued;
        Instant acknowledgedAt;
        Instant startedAt;
        Instant latestHeartbeatAt;
        String lastHeartbeat;
        int ttlSeconds = DEFAULT_TTL_SECONDS;
        Instant stopRequestedAt;
        Instant stoppedAt;
        /** Test hook: the lease is no longer extended (a platform that lost track of the worker). */
        boolean extendLease = true;

        Item(String id, String environmentId, String type, String sessionId, Instant createdAt, String sessionsToken) {
            this.id = id;
            this.type = type;
            this.environmentId = environmentId;
            this.sessionId = sessionId;
            this.createdAt = createdAt;
            this.sessionsToken = sessionsToken;
            ObjectNode s = JSON.createObjectNode().put("sessions_token", sessionsToken);
            this.secret = Base64.getUrlEncoder().withoutPadding().encodeToString(s.toString().getBytes(StandardCharsets.UTF_8));
        }

        /** When the lease lapses: the last heartbeat (or the ack) plus the TTL. */
        Instant leaseEnd() {
            Instant from = latestHeartbeatAt != null ? latestHeartbeatAt : acknowledgedAt;
            return from == null ? Instant.MAX : from.plusSeconds(ttlSeconds);
        }
    }

    private static final class Environment {
        final String id;
        final String key;
        final LinkedHashMap<String, Item> items = new LinkedHashMap<>();
        final Map<String, Instant> pollers = new HashMap<>();

        Environment(String id, String key) {
            this.id = id;
            this.key = key;
        }
    }

    private final Clock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Environment> environments = new LinkedHashMap<>();

    WorkQueue(Clock clock) {
        this.clock = clock;
    }

    static String randomId(String prefix) {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(b).replace('-', 'a').replace('_', 'b');
    }

    /** Creates an environment; returns its key (the environment's bearer credential). */
    String createEnvironment(String id) throws ApiError {
        lock.lock();
        try {
            if (environments.containsKey(id)) {
                throw new ApiError(409, "invalid_request_error", "environment '" + id + "' exists");
            }
            String key = randomId("envkey_");
            environments.put(id, new Environment(id, key));
            return key;
        } finally {
            lock.unlock();
        }
    }

    Item enqueue(String environmentId, String sessionId) throws ApiError {
        return enqueue(environmentId, sessionId, SESSION);
    }

    Item enqueue(String environmentId, String dataId, String type) throws ApiError {
        lock.lock();
        try {
            Environment env = environment(environmentId);
            if (env.items.size() >= MAX_ITEMS) {
                throw new ApiError(429, "rate_limit_error", "environment '" + environmentId + "' holds " + MAX_ITEMS + " work items");
            }
            Item item = new Item(randomId("work_"), environmentId, type, dataId, clock.instant(), randomId("sesstok_"));
            env.items.put(item.id, item);
            changed.signalAll();
            return item;
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code token} is the sessions token of any work item not stopped. */
    boolean isLiveToken(String token) {
        lock.lock();
        try {
            return token != null && environments.values().stream().flatMap(e -> e.items.values().stream())
                    .anyMatch(i -> i.sessionsToken.equals(token) && i.state != State.stopped);
        } finally {
            lock.unlock();
        }
    }

    /** Whose credential {@code token} is: {@code {kind, environment}} ("environment_key" or "sessions_token"), or null. */
    String[] owner(String token) {
        if (token == null) {
            return null;
        }
        lock.lock();
        try {
            for (Environment env : environments.values()) {
                if (env.key.equals(token)) {
                    return new String[] {"environment_key", env.id};
                }
                for (Item i : env.items.values()) {
                    if (i.sessionsToken.equals(token)) {
                        return new String[] {"sessions_token", env.id};
                    }
                }
            }
            return null;
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code token} is the key of an environment. */
    boolean isEnvironmentKey(String token) {
        lock.lock();
        try {
            return token != null && environments.values().stream().anyMatch(e -> e.key.equals(token));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether {@code token} is the sessions token of a live (not stopped) work item of
     * {@code sessionId}, or the key of an environment that holds a work item of it (the SDK falls
     * back to the environment key for an item whose secret has no sessions token).
     */
    boolean grantsSession(String token, String sessionId) {
        if (token == null) {
            return false;
        }
        lock.lock();
        try {
            for (Environment env : environments.values()) {
                for (Item i : env.items.values()) {
                    if (i.type.equals(SESSION) && i.sessionId.equals(sessionId)
                            && (i.sessionsToken.equals(token) && i.state != State.stopped || env.key.equals(token))) {
                        return true;
                    }
                }
            }
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** The environment an environment key opens, checked against the path's environment id. */
    void authorizeEnvironmentKey(String environmentId, String bearer) throws ApiError {
        lock.lock();
        try {
            Environment env = environment(environmentId);
            if (bearer == null || !bearer.equals(env.key)) {
                throw new ApiError(401, "authentication_error", "expected the environment key of '" + environmentId
                        + "' as Authorization: Bearer");
            }
        } finally {
            lock.unlock();
        }
    }

    /** Heartbeat and stop take the item's sessions token (from its secret) or the environment key. */
    Item authorizeItem(String environmentId, String workId, String bearer) throws ApiError {
        lock.lock();
        try {
            Environment env = environment(environmentId);
            Item item = item(env, workId);
            if (bearer == null || !(bearer.equals(item.sessionsToken) || bearer.equals(env.key))) {
                throw new ApiError(401, "authentication_error", "expected the work item's sessions token (from its secret) or the "
                        + "environment key as Authorization: Bearer");
            }
            return item;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The oldest queued item, or one whose lease lapsed more than {@code reclaimOlderThanMs} ago
     * (null: {@value #DEFAULT_RECLAIM_MS} ms, the API's default); waits up to {@code blockMs} for one. Empty: none.
     */
    Optional<Item> poll(String environmentId, String workerId, long blockMs, Long reclaimOlderThanMs) throws ApiError, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(blockMs);
        lock.lock();
        try {
            Environment env = environment(environmentId);
            env.pollers.put(workerId == null ? "" : workerId, clock.instant());
            while (true) {
                Instant now = clock.instant();
                for (Item i : env.items.values()) {
                    if (i.state == State.queued) {
                        return Optional.of(i);
                    }
                    boolean leased = i.state == State.starting || i.state == State.active;
                    // The API's default when the poll leaves it out (the SDK's poller always does): 5 s.
                    long reclaim = reclaimOlderThanMs != null ? reclaimOlderThanMs : DEFAULT_RECLAIM_MS;
                    if (leased && i.leaseEnd().plusMillis(reclaim).isBefore(now)) {
                        return Optional.of(i);
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                changed.await(left, TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    Item ack(String environmentId, String workId) throws ApiError {
        lock.lock();
        try {
            Item i = item(environment(environmentId), workId);
            Instant now = clock.instant();
            boolean reclaim = (i.state == State.starting || i.state == State.active) && i.leaseEnd().isBefore(now);
            if (i.state != State.queued && !reclaim) {
                throw new ApiError(409, "invalid_request_error", "work item " + workId + " is " + i.state + " (expected: queued, or a lapsed lease)");
            }
            i.state = State.starting;
            i.acknowledgedAt = now;
            i.latestHeartbeatAt = null;
            i.lastHeartbeat = null;
            changed.signalAll();
            return i;
        } finally {
            lock.unlock();
        }
    }

    /** Compare-and-set on the last heartbeat: {@code expected} must be what the previous one returned ({@link #NO_HEARTBEAT} first). */
    Item heartbeat(Item i, String expected, Integer desiredTtlSeconds) throws ApiError {
        lock.lock();
        try {
            String current = i.lastHeartbeat == null ? NO_HEARTBEAT : i.lastHeartbeat;
            if (expected != null && !expected.equals(current)) {
                ObjectNode state = JSON.createObjectNode();
                state.put("last_heartbeat", i.lastHeartbeat);
                state.put("lease_extended", false);
                state.put("state", i.state.name());
                state.put("ttl_seconds", i.ttlSeconds);
                ObjectNode details = JSON.createObjectNode().put("error_code", "heartbeat_precondition_failed");
                details.set("current_state", state);
                throw new ApiError(412, "precondition_failed_error", "expected_last_heartbeat does not match the stored heartbeat; "
                        + "another worker may hold the lease", details);
            }
            if (i.state == State.queued) {
                throw new ApiError(409, "invalid_request_error", "work item " + i.id + " is queued (ack it first)");
            }
            if (desiredTtlSeconds != null) {
                i.ttlSeconds = Math.max(5, Math.min(300, desiredTtlSeconds));
            }
            if ((i.state == State.starting || i.state == State.active) && i.extendLease) {
                Instant now = clock.instant();
                i.latestHeartbeatAt = now;
                i.lastHeartbeat = now.toString();
                if (i.state == State.starting) {
                    i.state = State.active;
                    i.startedAt = now;
                }
            }
            return i;
        } finally {
            lock.unlock();
        }
    }

    /** Whether the last heartbeat extended the lease (false once stopping, stopped, or no longer extended). */
    boolean extended(Item i) {
        lock.lock();
        try {
            return (i.state == State.active || i.state == State.starting) && i.extendLease;
        } finally {
            lock.unlock();
        }
    }

    Item stop(Item i, boolean force) throws ApiError {
        lock.lock();
        try {
            if (i.state == State.stopped) {
                throw new ApiError(409, "invalid_request_error", "work item " + i.id + " is already stopped");
            }
            Instant now = clock.instant();
            if (i.stopRequestedAt == null) {
                i.stopRequestedAt = now;
            }
            i.state = force || i.state == State.queued ? State.stopped : State.stopping;
            if (i.state == State.stopped) {
                i.stoppedAt = now;
            }
            changed.signalAll();
            return i;
        } finally {
            lock.unlock();
        }
    }

    /** The platform stops extending an item's lease (tests: lease loss). */
    void stopExtending(String environmentId, String workId) throws ApiError {
        lock.lock();
        try {
            item(environment(environmentId), workId).extendLease = false;
        } finally {
            lock.unlock();
        }
    }

    /** Another worker heartbeats the item (tests: a stale heartbeat gets 412). */
    void takeLease(String environmentId, String workId) throws ApiError {
        lock.lock();
        try {
            Item i = item(environment(environmentId), workId);
            i.lastHeartbeat = randomId("hb_");
            i.latestHeartbeatAt = clock.instant();
            i.ttlSeconds = 300; // the other worker holds it for the longest lease, so it is not reclaimed under a test's feet
        } finally {
            lock.unlock();
        }
    }

    Item get(String environmentId, String workId) throws ApiError {
        lock.lock();
        try {
            return item(environment(environmentId), workId);
        } finally {
            lock.unlock();
        }
    }

    List<Item> list(String environmentId) throws ApiError {
        lock.lock();
        try {
            return new ArrayList<>(environment(environmentId).items.values());
        } finally {
            lock.unlock();
        }
    }

    record Stats(int depth, Instant oldestQueuedAt, int pending, int workersPolling) {}

    Stats stats(String environmentId) throws ApiError {
        lock.lock();
        try {
            Environment env = environment(environmentId);
            int depth = 0;
            int pending = 0;
            Instant oldest = null;
            for (Item i : env.items.values()) {
                if (i.state == State.queued) {
                    depth++;
                    oldest = oldest == null || i.createdAt.isBefore(oldest) ? i.createdAt : oldest;
                } else if (i.state == State.starting || i.state == State.active || i.state == State.stopping) {
                    pending++;
                }
            }
            Instant recent = clock.instant().minus(Duration.ofSeconds(30));
            int polling = (int) env.pollers.values().stream().filter(t -> t.isAfter(recent)).count();
            return new Stats(depth, oldest, pending, polling);
        } finally {
            lock.unlock();
        }
    }

    private Environment environment(String id) throws ApiError {
        Environment env = environments.get(id);
        if (env == null) {
            throw new ApiError(404, "not_found_error", "no environment '" + id + "'");
        }
        return env;
    }

    private static Item item(Environment env, String workId) throws ApiError {
        Item i = env.items.get(workId);
        if (i == null) {
            throw new ApiError(404, "not_found_error", "no work item '" + workId + "' in environment '" + env.id + "'");
        }
        return i;
    }
}
