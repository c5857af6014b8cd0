package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.SandboxDriver;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A work item that is not for a session, such as a {@code healthcheck} ("the runner handles the
 * health check by probing connectivity to required services"): handled as the SDK's worker
 * handles one: acked, claimed with a first heartbeat (which proves the queue and the item's
 * credential work), the environment's driver probed, and the item stopped while the lease holds.
 * Left unanswered, it would come back on every poll.
 */
final class OtherWork implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(OtherWork.class);

    private final WorkerEnvironment env;
    private final WorkQueueApi api;
    private final Credential key;
    private final WorkQueueApi.Work work;
    private final SandboxService sandboxes;
    private final AuditTrail audit;

    OtherWork(WorkerEnvironment env, WorkQueueApi api, Credential key, WorkQueueApi.Work work, SandboxService sandboxes, AuditTrail audit) {
        this.env = env;
        this.api = api;
        this.key = key;
        this.work = work;
        this.sandboxes = sandboxes;
        this.audit = audit;
    }

    @Override
    public void run() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("event", "answered");
        f.put("environment_id", env.environmentId());
        f.put("work_id", work.id());
        f.put("item_type", work.type());
        f.put("item_id", work.sessionId());
        Credential token = work.sessionsToken() != null ? work.sessionsToken() : key;
        try {
            try {
                api.ack(key, work.id());
            } catch (ApiException e) {
                f.put("event", "ack_failed");
                f.put("reason", e.status() + " " + e.getMessage());
                return;
            }
            int ttl = (int) env.leaseTtl().toSeconds();
            Lease lease = new Lease(work.id(), (last, timeout) -> api.heartbeat(token, work.id(), last, ttl, timeout), Lease.Time.SYSTEM,
                    ThreadLocalRandom.current(), audit, (how, why) -> { });
            try (lease) {
                if (lease.claim()) {
                    f.put("probe", probe());
                } else {
                    f.put("probe", "not run: " + lease.reason());
                }
            }
            f.put("item_stopped", lease.lost() ? "no (the lease was lost: another worker may hold the item)"
                    : api.stopHeld(token, key, work.id()) ? "yes" : "no (the platform refused the stop; see the log)");
        } catch (InterruptedException e) {
            f.put("event", "interrupted");
            Thread.currentThread().interrupt();
        } finally {
            audit.record(work.type().equals("healthcheck") ? "worker.healthcheck" : "worker.work", f);
            log.info("work item {} ({} {}) answered: {}", work.id(), work.type(), work.sessionId(), f.getOrDefault("probe", f.get("event")));
        }
    }

    /** What this worker needs to serve a session: its environment's driver answering. */
    private String probe() {
        try {
            SandboxDriver d = sandboxes.driver(env.driver());
            return d.unavailableReason().map(r -> "driver " + d.name() + " unavailable: " + r).orElse("ok (driver " + d.name() + " available)");
        } catch (DriverException e) {
            return "driver " + env.driver() + ": " + e.getMessage();
        }
    }
}
