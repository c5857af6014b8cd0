package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.connector.worker.tools.ToolException;
import io.airlock.connector.worker.tools.ToolResult;
import io.airlock.connector.worker.tools.Toolset;
import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.Capability;
import io.airlock.driver.DriverException;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One work item, from claim to hand-back: a sandbox through the core first, the ack only once it
 * is ready (a failed provision stops the item instead of stranding it in {@code starting}), the
 * lease, the session's skills, then its events: each {@code agent.tool_use} of the toolset is run
 * in the sandbox and answered with a {@code user.tool_result}. Its parts: {@link EventReader} (the stream
 * and the catch-up), {@link SessionEvent} (decoding), {@link CallGate} (which calls run),
 * {@link ResultPoster} (answers); this class is the lifecycle. It ends when the session
 * terminates or idles past {@code idle_stop}, when the lease is lost, or when the daemon stops;
 * then the sandbox is destroyed and the item stopped, on every path.
 */
final class SessionWorker implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(SessionWorker.class);
    /** Events read ahead of the one being handled; the reader waits when it is full. */
    private static final int EVENT_BUFFER = 256;
    private static final JsonNode END = WorkQueueApi.JSON.createObjectNode().put("type", "__end");

    static final String LABEL_ENVIRONMENT = "airlock.worker.environment";
    static final String LABEL_WORK = "airlock.worker.work";

    private final WorkerEnvironment env;
    private final WorkQueueApi api;
    private final Credential key;
    private final WorkQueueApi.Work work;
    private final Credential token;
    private final SandboxService sandboxes;
    private final AuditTrail audit;
    private final WorkerStats stats;
    private final Approvals approvals;
    private final String sandboxId;
    private final BlockingQueue<JsonNode> events = new ArrayBlockingQueue<>(EVENT_BUFFER);
    private final Set<String> seenEvents = new HashSet<>();
    private final CallGate gate = new CallGate((event, fields) -> record("worker.tool", event, fields));
    private volatile String endReason;
    private volatile EventReader reader;
    private final ResultPoster poster;
    private volatile Toolset tools;
    /** The session's memory stores; null until mounted. */
    private MemorySync memory;
    private long idleSince = -1;
    /** False once the item turned out to be another worker's: it is not ours to stop. */
    private boolean stopItem = true;

    SessionWorker(WorkerEnvironment env, WorkQueueApi api, Credential key, WorkQueueApi.Work work, SandboxService sandboxes,
            AuditTrail audit, WorkerStats stats, Approvals approvals) {
        this.env = env;
        this.api = api;
        this.key = key;
        this.work = work;
        this.token = work.sessionsToken() != null ? work.sessionsToken() : key;
        this.sandboxes = sandboxes;
        this.audit = audit;
        this.stats = stats;
        this.approvals = approvals;
        this.sandboxId = sandboxIdOf(work.id());
        this.poster = new ResultPoster(api, token, work.sessionId(), () -> endReason == null, this::terminated,
                (event, fields) -> record("worker.tool", event, fields));
    }

    /** A valid sandbox id for a work item: stable, so a restarted daemon finds it again. */
    static String sandboxIdOf(String workId) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(workId.getBytes(StandardCharsets.UTF_8));
            return "wq-" + java.util.HexFormat.of().formatHex(h, 0, 10);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Ends the session's work now (lease lost, daemon stopping): the stream closes and a running command is killed. */
    void end(String reason) {
        if (endReason == null) {
            endReason = reason;
        }
        EventReader r = reader;
        if (r != null) {
            r.close();
        }
        Toolset t = tools;
        if (t != null) {
            t.close();
        }
        events.clear();
        events.offer(END);
    }

    @Override
    public void run() {
        String outcome = "ended";
        Lease lease = null;
        boolean provisioned = false;
        stats.sessionStarted();
        record("worker.session", "claimed", Map.of("environment_key", key.fingerprint()));
        try {
            // One fetch for skills and memory, so the two cannot disagree about the session's resources; read first,
            // because the sandbox is made with the volumes its memory stores are mounted on.
            JsonNode session = api.session(token, work.sessionId());
            if (session.path("status").asText().equals("terminated")) {
                outcome = "session_terminated";
                record("worker.session", "session_terminated", Map.of("reason", "the session was terminated before it was served"));
                return;
            }
            List<String> volumes;
            try {
                boolean hasVolumes = sandboxes.driver(env.driver()).capabilities().contains(Capability.VOLUMES);
                volumes = new java.util.ArrayList<>(MemorySync.volumes(session, hasVolumes));
                // Beside the memory stores' (a store mounted on or around it keeps its place).
                if (hasVolumes && io.airlock.driver.SandboxVolumes.fits(volumes, Toolset.SAVED_OUTPUT)) {
                    volumes.add(Toolset.SAVED_OUTPUT);
                }
                sandboxes.provision(sandboxId, env.driver(), env.image(), "", ResourceLimits.NONE, Map.of(),
                        Map.of(LABEL_ENVIRONMENT, env.environmentId(), LABEL_WORK, work.id()), List.of(), List.of(), volumes);
                provisioned = true;
                // Reaped by the policy (max_lifetime, idle_timeout): the session ends here, its memory saved and its item stopped.
                sandboxes.onReap(sandboxId, why -> end("sandbox_" + why));
            } catch (DriverException | PolicyDeniedException e) {
                outcome = "provision_failed";
                String why = e instanceof PolicyDeniedException p ? "denied by the local policy (" + p.rule() + "): " + p.getMessage() : e.getMessage();
                record("worker.session", "provision_failed", Map.of("reason", why));
                log.warn("session {} of {}: cannot provision its sandbox, stopping the item: {}", work.sessionId(), work.id(), why);
                return;
            }
            try {
                api.ack(key, work.id());
            } catch (ApiException e) {
                if (e.status() == 409) {
                    // Another worker acked it while this sandbox was made: it is theirs; leave the item alone.
                    stopItem = false;
                    outcome = "claimed_elsewhere";
                    record("worker.session", "claimed_elsewhere", Map.of("reason", e.getMessage()));
                    return;
                }
                throw e;
            }
            record("worker.session", "acked", Map.of("sandbox_id", sandboxId, "sessions_token", token.fingerprint()));
            int ttl = (int) env.leaseTtl().toSeconds();
            lease = new Lease(work.id(), (last, timeout) -> api.heartbeat(token, work.id(), last, ttl, timeout), Lease.Time.SYSTEM,
                    java.util.concurrent.ThreadLocalRandom.current(), audit, (how, why) -> end(why));
            if (!lease.start()) {
                outcome = lease.lost() ? "lease_lost" : "lease_shutdown";
                return;
            }
            SessionScope scope = new SessionScope(api, token, sandboxes, sandboxId, audit, work);
            new Skills(scope).install(session);
            MemorySync m = new MemorySync(scope);
            try {
                // The sandbox a restarted daemon finds again has the volumes it was made with.
                volumes = sandboxes.find(sandboxId).map(Sandbox::volumes).orElse(volumes);
                m.mount(session, volumes);
            } catch (DriverException | ToolException e) {
                outcome = "memory_unavailable";
                record("worker.session", "memory_unavailable", Map.of("reason", e.getMessage()));
                return;
            }
            memory = m;
            tools = new Toolset(sandboxes, sandboxId, m.paths(), volumes.contains(Toolset.SAVED_OUTPUT));
            serve();
            outcome = endReason == null ? "ended" : endReason;
        } catch (ApiException e) {
            outcome = "api_error";
            record("worker.session", "api_error", Map.of("status", e.status(), "reason", e.getMessage()));
            log.warn("session {} of {}: the platform refused a call: {} {}", work.sessionId(), work.id(), e.status(), e.getMessage());
        } catch (InterruptedException e) {
            outcome = "daemon_stopping";
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            outcome = "internal_error";
            log.error("session {} of {} failed", work.sessionId(), work.id(), e);
        } finally {
            teardown(lease, provisioned, endReason != null ? endReason : outcome);
        }
    }

    private void teardown(Lease lease, boolean provisioned, String reason) {
        // A lost lease: another worker may hold the item; neither its memory nor the item is this worker's to touch.
        boolean lost = lease != null && lease.lost();
        MemorySync m = memory;
        if (m != null && !lost) {
            try {
                m.sync(); // the last flush: what the agent wrote since the last call is not lost
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Toolset t = tools;
        if (t != null) {
            t.close();
        }
        if (lease != null) {
            lease.close();
        }
        if (provisioned) {
            try {
                sandboxes.destroy(sandboxId, "work item " + work.id() + " ended: " + reason);
            } catch (DriverException e) {
                log.error("cannot destroy sandbox {} of work item {}: {}", sandboxId, work.id(), e.getMessage());
            }
        }
        // Hand a held item back, so the platform does not wait out a lease on a session nobody serves.
        boolean wasInterrupted = Thread.interrupted();
        String itemStopped = "no (" + (lost ? "the lease was lost: another worker may hold the item" : "another worker acked it") + ")";
        try {
            if (stopItem && !lost) {
                itemStopped = api.stopHeld(token, key, work.id()) ? "yes" : "no (the platform refused the stop; see the log)";
            }
        } catch (InterruptedException e) {
            wasInterrupted = true;
            itemStopped = "no (interrupted)";
        } finally {
            if (wasInterrupted) {
                Thread.currentThread().interrupt();
            }
        }
        record("worker.session", "stopped", Map.of("reason", reason, "item_stopped", itemStopped));
        stats.sessionEnded();
    }

    /** Reads the stream (reconnecting and catching up from the list) and handles events in order until the end. */
    private void serve() throws ApiException, InterruptedException {
        EventReader r = new EventReader(api, token, work.sessionId(), events, () -> endReason != null, () -> {
            Toolset t = tools; // the session accepts no result for a running command: kill it now
            if (t != null) {
                t.close();
            }
        }, this::end);
        reader = r;
        r.start();
        try {
            while (endReason == null) {
                JsonNode e = events.poll(200, TimeUnit.MILLISECONDS);
                if (e == null) {
                    if (idleSince >= 0 && System.nanoTime() - idleSince > env.idleStop().toNanos()) {
                        endReason = "idle for " + env.idleStop().toSeconds() + " s after the turn ended";
                    }
                    continue;
                }
                if (e == END) {
                    break;
                }
                handle(e);
            }
        } finally {
            end(endReason == null ? "ended" : endReason);
        }
    }

    /** Whether the session's termination was read (ahead of the events queued before it). */
    private boolean terminated() {
        EventReader r = reader;
        return r != null && r.terminated();
    }

    private void handle(JsonNode json) throws InterruptedException {
        SessionEvent e = SessionEvent.of(json);
        if (!e.id().isEmpty() && !seenEvents.add(e.id())) {
            return; // seen on the stream and again in the list
        }
        if (!(e instanceof SessionEvent.Confirmation) && !(e instanceof SessionEvent.ThreadEnded)) {
            idleSince = -1;
        }
        List<SessionEvent.ToolUse> run = switch (e) {
            case SessionEvent.ToolUse call -> gate.read(call);
            case SessionEvent.ResultSeen r -> {
                gate.answered(r.toolUseId());
                yield List.of();
            }
            case SessionEvent.Confirmation c -> gate.confirmed(c);
            case SessionEvent.Idle idle when idle.requiresAction() -> gate.listed(idle);
            case SessionEvent.Idle idle -> {
                idleSince = System.nanoTime();
                if (memory != null && !memory.isEmpty()) {
                    memory.sync(); // the turn is over: what the agent wrote goes up now, as the SDK flushes on idle
                }
                yield List.of();
            }
            case SessionEvent.Ended ended -> {
                endReason = "the session ended (" + ended.type() + ")";
                yield List.of();
            }
            case SessionEvent.ThreadEnded t -> List.of();
            case SessionEvent.Other o -> List.of();
        };
        for (SessionEvent.ToolUse call : run) {
            run(call.id(), call.name(), call.input(), call.thread());
        }
    }

    /** Runs one call; {@code thread} is its session thread ("" for the session's own), whose shell bash uses. */
    private void run(String id, String name, JsonNode input, String thread) throws InterruptedException {
        if (terminated()) {
            record("worker.tool", "not_run", Map.of("tool_use_id", id, "tool", name, "reason", "the session ended before the call started"));
            return;
        }
        long start = System.nanoTime();
        ToolResult result;
        String verdict;
        boolean denied = env.tools().deny().contains(name);
        Approvals.Decision approval = !denied && env.tools().approve().contains(name) ? approve(id, name, input) : Approvals.Decision.ALLOW;
        if (denied) {
            result = ToolResult.denied("environments[].tools.deny", name + ": denied by the local policy (environments[].tools.deny lists '"
                    + name + "' for environment " + env.environmentId() + ")");
            verdict = "denied";
        } else if (approval != Approvals.Decision.ALLOW) {
            result = ToolResult.error(name + ": " + (approval == Approvals.Decision.DENY
                    ? "refused by an operator on the worker's host (environments[].tools.approve requires local approval)"
                    : "not approved on the worker's host within " + env.tools().approvalTimeout().toSeconds()
                            + " s (environments[].tools.approve requires local approval; environments[].tools.approval_timeout)"));
            verdict = "denied";
        } else {
            if (memory != null && !memory.isEmpty()) {
                memory.sync(); // the call sees the store as it is now, and what earlier calls wrote goes up
            }
            result = tools.call(name, input, thread);
            verdict = result.deniedBy() != null ? "denied" : result.isError() ? "error" : "ok";
            if (terminated()) {
                // Killed because the session ended: what it did is unknown, as the SDK's notice says.
                result = ToolResult.error("tool '" + name + "' was stopped, and may have already done some or all of its work");
                verdict = "stopped";
            }
        }
        if (result.deniedBy() != null) {
            // As the core records a command its policy refused: the same record type, whichever connector the work came through.
            record("policy.denied", "tool_denied", Map.of("tool_use_id", id, "tool", name, "rule", result.deniedBy(), "message", result.text()));
        }
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("tool_use_id", id);
        f.put("tool", name);
        f.put("outcome", verdict);
        f.put("input_hash", audit.hashed(input.toString()));
        f.put("output_bytes", result.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        f.put("duration_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        if (endReason != null) {
            // The lease was lost while it ran: another worker may serve the session now; do not answer.
            f.put("posted", false);
            record("worker.tool", verdict, f);
            return;
        }
        stats.toolCall(verdict);
        boolean posted = poster.post(id, name, result);
        f.put("posted", posted);
        record("worker.tool", verdict, f);
    }

    /** Waits for an operator on this host to allow or deny the call (airlock approvals); audited both ways. */
    private Approvals.Decision approve(String id, String name, JsonNode input) throws InterruptedException {
        String shown = input.toString();
        ObjectNode request = WorkQueueApi.JSON.createObjectNode().put("tool_use_id", id).put("tool", name)
                .put("environment_id", env.environmentId()).put("session_id", work.sessionId()).put("work_id", work.id())
                .put("input", shown.length() > 4000 ? shown.substring(0, 4000) + "..." : shown);
        record("worker.tool", "approval_requested", Map.of("tool_use_id", id, "tool", name));
        Approvals.Decision d;
        try {
            d = approvals.await(id, request, env.tools().approvalTimeout(), () -> endReason != null);
        } catch (IOException | IllegalArgumentException e) {
            log.warn("cannot ask for approval of {} ({}): {}", id, name, e.getMessage());
            d = Approvals.Decision.DENY;
        }
        record("worker.tool", "approval_" + d.name().toLowerCase(), Map.of("tool_use_id", id, "tool", name));
        return d;
    }

    private void record(String type, String event, Map<String, ?> more) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("event", event);
        f.put("environment_id", env.environmentId());
        f.put("work_id", work.id());
        f.put("session_id", work.sessionId());
        f.putAll(more);
        audit.record(type, f);
    }
}
