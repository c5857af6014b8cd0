package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.Sandbox;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Polls one environment's queue and serves up to {@code concurrency} sessions at once, each on
 * its own virtual thread. Poll failures back off with jitter (1 s doubling to 30 s); a refused key
 * is retried the same way (the platform may have been wrong for a moment), and readiness says so
 * meanwhile. The key file is read at start: a new key takes a restart.
 */
final class EnvironmentWorker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EnvironmentWorker.class);
    static final int POLL_BLOCK_MS = 900;
    /** Reclaim items whose lease lapsed this long ago (a crashed worker's). */
    static final long RECLAIM_OLDER_THAN_MS = 5_000;
    private static final long MAX_BACKOFF_MS = 30_000;
    /** Pause before polling again when the queue handed out an item this worker is still preparing. */
    private static final long REPOLL_MS = 100;

    private final WorkerEnvironment env;
    private final WorkQueueApi api;
    private final Credential key;
    private final SandboxService sandboxes;
    private final AuditTrail audit;
    private final Approvals approvals;
    private final WorkerStats stats = new WorkerStats();
    private final Semaphore slots;
    private final Set<SessionWorker> running = ConcurrentHashMap.newKeySet();
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    /** Work ids being served here; a poll that returns one again is skipped. */
    private final Set<String> serving = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private Thread poller;

    EnvironmentWorker(WorkerEnvironment env, WorkQueueApi api, Credential key, SandboxService sandboxes, AuditTrail audit,
            Approvals approvals) {
        this.env = env;
        this.api = api;
        this.key = key;
        this.sandboxes = sandboxes;
        this.audit = audit;
        this.approvals = approvals;
        this.slots = new Semaphore(env.concurrency());
    }

    WorkerStats stats() {
        return stats;
    }

    String environmentId() {
        return env.environmentId();
    }

    /**
     * Sandboxes a previous run left (it was killed mid-session) are destroyed and their items
     * stopped: the session is handed back rather than served by a sandbox nobody tracks.
     */
    void reclaimLeftovers() throws InterruptedException {
        for (Sandbox s : sandboxes.list()) {
            if (!env.environmentId().equals(s.labels().get(SessionWorker.LABEL_ENVIRONMENT))) {
                continue;
            }
            String workId = s.labels().getOrDefault(SessionWorker.LABEL_WORK, "");
            try {
                sandboxes.destroy(s.id(), "left by a previous run of the worker (work item " + workId + ")");
            } catch (DriverException e) {
                log.error("cannot destroy leftover sandbox {}: {}", s.id(), e.getMessage());
            }
            try {
                api.stop(key, workId, true);
            } catch (ApiException e) {
                log.warn("cannot stop leftover work item {}: {} {}", workId, e.status(), e.getMessage());
            }
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("event", "leftover_stopped");
            f.put("environment_id", env.environmentId());
            f.put("work_id", workId);
            f.put("sandbox_id", s.id());
            audit.record("worker.session", f);
        }
    }

    void start() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("event", "started");
        f.put("environment_id", env.environmentId());
        f.put("api_url", env.apiUrl().toString());
        f.put("worker_id", env.workerId());
        f.put("environment_key", key.fingerprint());
        audit.record("worker.environment", f);
        poller = Thread.ofVirtual().name("poll-" + env.environmentId()).start(this::pollLoop);
    }

    private void pollLoop() {
        long backoff = 1000;
        try {
            reclaimLeftovers();
            while (!closed) {
                slots.acquire();
                boolean handedOff = false;
                try {
                    Optional<WorkQueueApi.Work> w = api.poll(key, env.workerId(), POLL_BLOCK_MS, RECLAIM_OLDER_THAN_MS);
                    stats.polled(true, "");
                    backoff = 1000;
                    if (w.isPresent() && serving.contains(w.get().id())) {
                        // Ours already, not acked yet (the ack waits for its sandbox): the queue hands it out until then.
                        Thread.sleep(REPOLL_MS);
                    } else if (w.isPresent() && !closed) {
                        String workId = w.get().id();
                        serving.add(workId);
                        SessionWorker s = new SessionWorker(env, api, key, w.get(), sandboxes, audit, stats, approvals);
                        running.add(s);
                        Thread t = Thread.ofVirtual().name("work-" + w.get().id()).unstarted(() -> {
                            try {
                                s.run();
                            } finally {
                                running.remove(s);
                                serving.remove(workId);
                                threads.remove(Thread.currentThread());
                                slots.release();
                            }
                        });
                        threads.add(t);
                        t.start();
                        handedOff = true;
                    }
                } catch (ApiException e) {
                    stats.polled(false, e.status() + " " + e.getMessage());
                    log.warn("polling environment {} failed ({} {}); again in about {} ms", env.environmentId(), e.status(), e.getMessage(), backoff);
                    Thread.sleep(backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1));
                    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
                } finally {
                    if (!handedOff) {
                        slots.release();
                    }
                }
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    /** Stops polling and ends every session (each destroys its sandbox and stops its item), waiting up to 20 s for them. */
    @Override
    public void close() {
        closed = true;
        if (poller != null) {
            poller.interrupt();
        }
        running.forEach(s -> s.end("the daemon is stopping"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
