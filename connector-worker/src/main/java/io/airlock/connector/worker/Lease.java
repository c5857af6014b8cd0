package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A work item's lease, kept by heartbeats every min(ttl/2, 30 s) with compare-and-set on the last
 * heartbeat. It is lost, and {@link #lost()} says why, when the server answers 412 (someone else
 * holds it), stops extending it, reports the item stopping or stopped, refuses it for good, or
 * when no heartbeat succeeded within the TTL: then two workers could be serving one session, so
 * the session's work must end at once.
 */
final class Lease implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Lease.class);
    private static final Duration MAX_INTERVAL = Duration.ofSeconds(30);

    /** Told once, from the heartbeat thread, when the lease is lost. */
    interface Loss {
        void lost(String reason);
    }

    private final WorkQueueApi api;
    private final Credential token;
    private final String workId;
    private final int desiredTtlSeconds;
    private final AuditTrail audit;
    private final Loss onLoss;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final AtomicReference<String> lost = new AtomicReference<>();
    private volatile String last = WorkQueueApi.NO_HEARTBEAT;
    private volatile long ttlMillis;
    private volatile long lastSuccessNanos = System.nanoTime();
    private Thread thread;

    Lease(WorkQueueApi api, Credential token, String workId, int desiredTtlSeconds, AuditTrail audit, Loss onLoss) {
        this.api = api;
        this.token = token;
        this.workId = workId;
        this.desiredTtlSeconds = desiredTtlSeconds;
        this.audit = audit;
        this.onLoss = onLoss;
        this.ttlMillis = desiredTtlSeconds * 1000L;
    }

    /** The first heartbeat, then the loop; false when the first already lost it. */
    boolean start() throws InterruptedException {
        beat();
        if (lost.get() != null) {
            return false;
        }
        thread = Thread.ofVirtual().name("lease-" + workId).start(this::loop);
        return true;
    }

    /** Why the lease was lost; null while it holds. */
    String lost() {
        return lost.get();
    }

    private long intervalMillis() {
        return Math.max(1000, Math.min(ttlMillis / 2, MAX_INTERVAL.toMillis()));
    }

    private void loop() {
        try {
            while (lost.get() == null && !closed.await(intervalMillis(), TimeUnit.MILLISECONDS)) {
                beat();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void beat() throws InterruptedException {
        try {
            WorkQueueApi.Heartbeat h = api.heartbeat(token, workId, last, desiredTtlSeconds, Duration.ofMillis(intervalMillis()));
            lastSuccessNanos = System.nanoTime();
            last = h.lastHeartbeat();
            if (h.ttlSeconds() > 0) {
                ttlMillis = h.ttlSeconds() * 1000L;
            }
            if (h.state().equals("stopping") || h.state().equals("stopped")) {
                lose("the platform set the work item " + h.state());
            } else if (!h.leaseExtended()) {
                lose("the platform no longer extends the lease");
            }
        } catch (ApiException e) {
            if (e.status() == 412) {
                lose("another heartbeat holds the lease (412; the server's state: "
                        + e.details().path("current_state").path("state").asText("unknown") + ")");
            } else if (!e.transientFailure()) {
                lose("the platform refused the heartbeat: " + e.status() + " " + e.getMessage());
            } else if (System.nanoTime() - lastSuccessNanos > TimeUnit.MILLISECONDS.toNanos(ttlMillis)) {
                lose("no heartbeat succeeded within the lease's " + ttlMillis / 1000 + " s (last error: " + e.getMessage() + ")");
            } else {
                log.warn("heartbeat of {} failed, retrying: {}", workId, e.getMessage());
            }
        }
    }

    private void lose(String reason) {
        if (closed.getCount() == 0 || !lost.compareAndSet(null, reason)) {
            return;
        }
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("event", "lease_lost");
        rec.put("work_id", workId);
        rec.put("reason", reason);
        audit.record("worker.lease", rec);
        log.warn("lease of {} lost: {}", workId, reason);
        onLoss.lost(reason);
    }

    @Override
    public void close() {
        closed.countDown();
        if (thread != null) {
            thread.interrupt();
        }
    }
}
