package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A work item's lease, kept as the official SDK's worker keeps it (1.16, {@code Lease}): the first
 * heartbeat before serving, assuming the API's default TTL (300 s) until one is answered; then one
 * every min(ttl/2, 30 s) from the send time of the last, each with a 30 s deadline; a failed one
 * retried with backoff (1 s doubling to 30 s, jittered) until the lease would expire.
 *
 * <p>It ends in one of two ways, and they differ in what the worker may do with the item:
 * <ul>
 * <li>{@link End#LOST}: a 412 (another heartbeat holds it), a permanent refusal, or no heartbeat
 *     answered before the lease expired. Another worker may hold the item now: stop serving and
 *     do <em>not</em> stop the item, which would end that worker's session.
 * <li>{@link End#SHUTDOWN}: the platform answered {@code lease_extended: false}. The item is still
 *     this worker's: stop serving and stop it.
 * </ul>
 * Time is passed in ({@link Time}), so the rules are unit-tested with a fake clock.
 */
final class Lease implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Lease.class);
    /** The API's default lease, assumed until the first heartbeat says otherwise. */
    static final long CLAIM_TTL_MS = 300_000;
    static final long MAX_INTERVAL_MS = 30_000;
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    enum End { LOST, SHUTDOWN }

    /** Told once when the lease ends: from the heartbeat thread, or from {@link #claim()}'s caller. */
    interface Listener {
        void ended(End end, String reason);
    }

    /** One heartbeat: compare-and-set on {@code expectedLast}, bounded by {@code timeout}. */
    interface Heartbeats {
        WorkQueueApi.Heartbeat send(String expectedLast, Duration timeout) throws ApiException, InterruptedException;
    }

    /** The clock and the waits of the loop. */
    interface Time {
        long nanos();

        /** Waits up to {@code millis}, or less once {@code wake} is open. */
        void await(CountDownLatch wake, long millis) throws InterruptedException;

        Time SYSTEM = new Time() {
            @Override
            public long nanos() {
                return System.nanoTime();
            }

            @Override
            public void await(CountDownLatch wake, long millis) throws InterruptedException {
                wake.await(millis, TimeUnit.MILLISECONDS);
            }
        };
    }

    private final String workId;
    private final Heartbeats heartbeats;
    private final Time time;
    private final RandomGenerator random;
    private final AuditTrail audit;
    private final Listener listener;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicReference<End> end = new AtomicReference<>();
    private volatile String reason;
    private String last = WorkQueueApi.NO_HEARTBEAT;
    private long ttlMillis = CLAIM_TTL_MS;
    private long dueAt;
    private long expiresAt;
    private Thread thread;

    Lease(String workId, Heartbeats heartbeats, Time time, RandomGenerator random, AuditTrail audit, Listener listener) {
        this.workId = workId;
        this.heartbeats = heartbeats;
        this.time = time;
        this.random = random;
        this.audit = audit;
        this.listener = listener;
        this.dueAt = time.nanos();
        this.expiresAt = dueAt + TimeUnit.MILLISECONDS.toNanos(ttlMillis);
    }

    /** The first heartbeat (retried while the assumed lease lasts); false when it already ended the lease. */
    boolean claim() throws InterruptedException {
        extend();
        return end.get() == null;
    }

    /** {@link #claim()}, then the heartbeat loop on a thread of its own. */
    boolean start() throws InterruptedException {
        if (!claim()) {
            return false;
        }
        thread = Thread.ofVirtual().name("lease-" + workId).start(() -> {
            try {
                run();
            } catch (InterruptedException e) {
                // closed
            }
        });
        return true;
    }

    /** Heartbeats when due until the lease ends or it is closed. */
    void run() throws InterruptedException {
        while (end.get() == null && closed.getCount() > 0) {
            long wait = dueAt - time.nanos();
            if (wait > 0) {
                time.await(closed, Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
                continue;
            }
            extend();
        }
    }

    /** How the lease ended; null while it holds. */
    End ended() {
        return end.get();
    }

    /** True once another worker may hold the item: it is not this worker's to stop or to write to. */
    boolean lost() {
        return end.get() == End.LOST;
    }

    String reason() {
        return reason;
    }

    /** The lease's TTL as last answered (the assumed 300 s before that). */
    long ttlMillis() {
        return ttlMillis;
    }

    private void extend() throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            long sentAt = time.nanos();
            try {
                record(heartbeats.send(last, CALL_TIMEOUT), sentAt);
                return;
            } catch (ApiException e) {
                if (e.status() == 412) {
                    finish(End.LOST, "another heartbeat holds the lease (412; the server's state: "
                            + e.details().path("current_state").path("state").asText("unknown") + ")");
                    return;
                }
                if (!e.transientFailure()) {
                    finish(End.LOST, "the platform refused the heartbeat for good: " + e.status() + " " + e.getMessage());
                    return;
                }
                log.warn("heartbeat of {} failed, retrying: {} {}", workId, e.status(), e.getMessage());
            }
            long retryAt = time.nanos() + TimeUnit.MILLISECONDS.toNanos(Pacing.RETRY.delayMs(attempt, random));
            long until = Math.min(retryAt, expiresAt);
            while (closed.getCount() > 0 && time.nanos() < until) {
                time.await(closed, Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - time.nanos())));
            }
            if (closed.getCount() == 0) {
                return;
            }
            if (retryAt >= expiresAt) {
                finish(End.LOST, "no heartbeat succeeded within the lease's " + ttlMillis / 1000 + " s");
                return;
            }
        }
    }

    private void record(WorkQueueApi.Heartbeat h, long sentAt) {
        if (!h.leaseExtended()) {
            finish(End.SHUTDOWN, "the platform no longer extends the lease (the item is " + h.state() + ")");
            return;
        }
        if (h.ttlSeconds() > 0) {
            ttlMillis = h.ttlSeconds() * 1000L;
        }
        dueAt = sentAt + TimeUnit.MILLISECONDS.toNanos(Math.min(ttlMillis / 2, MAX_INTERVAL_MS));
        expiresAt = sentAt + TimeUnit.MILLISECONDS.toNanos(ttlMillis);
        last = h.lastHeartbeat();
    }

    private void finish(End how, String why) {
        if (closed.getCount() == 0 || !end.compareAndSet(null, how)) {
            return;
        }
        reason = why;
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("event", how == End.LOST ? "lease_lost" : "lease_shutdown");
        rec.put("work_id", workId);
        rec.put("reason", why);
        audit.record("worker.lease", rec);
        log.warn("lease of {} {}: {}", workId, how == End.LOST ? "lost (the item is left to whoever holds it)" : "ends", why);
        listener.ended(how, why);
    }

    @Override
    public void close() {
        closed.countDown();
        if (thread != null) {
            thread.interrupt();
        }
    }
}
