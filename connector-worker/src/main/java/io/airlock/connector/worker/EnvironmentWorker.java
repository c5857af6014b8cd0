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
 * Polls one environment's queue and serves up to {@code concurrency} items at once, each on its
 * own virtual thread, paced as the official SDK's poller: {@code block_ms} {@value #POLL_BLOCK_MS}
 * (the API's cap), 1 to 3 s after an empty poll, and a failed poll again after 1 s doubling to
 * 60 s plus up to 1 s. A refused key is retried the same way (the SDK's poller gives up; the
 * platform may have been wrong for a moment), and readiness says so meanwhile. A session item gets
 * a {@link SessionWorker}; any other item (a {@code healthcheck}) is acked, claimed with a first
 * heartbeat while the driver is probed, and stopped. The key file is read at start: a new key
 * takes a restart.
 */
final class EnvironmentWorker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EnvironmentWorker.class);
    static final int POLL_BLOCK_MS = 999;
    /** Not sent, as the SDK's poller leaves it out (null): the platform's default reclaims unacknowledged items after 5 s. */
    static final long RECLAIM_OLDER_THAN_MS = 0;
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
     * Sandboxes a previous run left (it was killed mid-session) are destroyed: nobody tracks them.
     * Their items are not stopped: their leases lapsed with the old run, so another worker may
     * serve those sessions now (the SDK's rule for a lost lease), and the platform reclaims the rest.
     */
    void reclaimLeftovers() {
        for (Sandbox s : sandboxes.list()) {
            if (!env.environmentId().equals(s.labels().get(SessionWorker.LABEL_ENVIRONMENT))) {
                continue;
            }
            String workId = s.labels().getOrDefault(SessionWorker.LABEL_WORK, "");
            String destroyed = "yes";
            try {
                sandboxes.destroy(s.id(), "left by a previous run of the worker (work item " + workId + ")");
            } catch (DriverException e) {
                destroyed = "no: " + e.getMessage();
                log.error("cannot destroy leftover sandbox {}: {}", s.id(), e.getMessage());
            }
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("event", "leftover_destroyed");
            f.put("environment_id", env.environmentId());
            f.put("work_id", workId);
            f.put("sandbox_id", s.id());
            f.put("destroyed", destroyed);
            f.put("item_stopped", "no (its lease lapsed with the previous run: another worker may serve it)");
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
        int failures = 0;
        try {
            reclaimLeftovers();
            while (!closed) {
                slots.acquire();
                boolean handedOff = false;
                try {
                    Optional<WorkQueueApi.Work> w = api.poll(key, env.workerId(), POLL_BLOCK_MS, RECLAIM_OLDER_THAN_MS);
                    stats.polled(true, "");
                    failures = 0;
                    if (w.isPresent() && serving.contains(w.get().id())) {
                        // Ours already, not acked yet (the ack waits for its sandbox): the queue hands it out until then.
                        Thread.sleep(REPOLL_MS);
                    } else if (w.isPresent() && !closed) {
                        handedOff = hand(w.get());
                    } else if (w.isEmpty()) {
                        Thread.sleep(1000 + ThreadLocalRandom.current().nextLong(2001));
                    }
                } catch (ApiException e) {
                    stats.polled(false, e.status() + " " + e.getMessage());
                    // As the SDK's poller: the n-th failure in a row waits 2^n s (at most 60 s) plus up to 1 s.
                    long delay = Pacing.POLL.ceilingMs(++failures) + ThreadLocalRandom.current().nextLong(1001);
                    log.warn("polling environment {} failed ({} {}); again in {} ms", env.environmentId(), e.status(), e.getMessage(), delay);
                    Thread.sleep(delay);
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

    /** Serves {@code w} on a thread of its own, which releases the slot; true once handed off. */
    private boolean hand(WorkQueueApi.Work w) {
        String workId = w.id();
        serving.add(workId);
        SessionWorker s = w.isSession() ? new SessionWorker(env, api, key, w, sandboxes, audit, stats, approvals) : null;
        if (s != null) {
            running.add(s);
        }
        Thread t = Thread.ofVirtual().name("work-" + workId).unstarted(() -> {
            try {
                if (s != null) {
                    s.run();
                } else {
                    new OtherWork(env, api, key, w, sandboxes, audit).run();
                }
            } finally {
                if (s != null) {
                    running.remove(s);
                }
                serving.remove(workId);
                threads.remove(Thread.currentThread());
                slots.release();
            }
        });
        threads.add(t);
        t.start();
        return true;
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
