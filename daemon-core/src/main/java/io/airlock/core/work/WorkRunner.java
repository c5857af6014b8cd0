package io.airlock.core.work;

import io.airlock.core.audit.AuditException;
import io.airlock.core.audit.AuditTrail;
import io.airlock.core.egress.EgressRule;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.Snapshot;
import io.airlock.driver.TerminalSize;
import io.airlock.tunnel.mcp.McpTunnel;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs work from any connector: records it, admits it (draining, deadline, capacity), answers a
 * repeated id with the first result (across restarts for work with effects, through the
 * journal), runs it through the sandbox service on its own virtual thread, and sends the outcome
 * back through the connector it came from. Each connector decodes its wire once into a
 * {@link WorkItem}; nothing here knows a wire.
 */
public final class WorkRunner {
    private static final Logger log = LoggerFactory.getLogger(WorkRunner.class);
    /** How long a work id is remembered (here and, for work with effects, across restarts in the journal). */
    public static final Duration LEDGER_RETENTION = Duration.ofHours(1);

    /** Told every outcome (metrics). */
    @FunctionalInterface
    public interface Observer {
        void finished(WorkItem item, Outcome outcome);
    }

    /** MCP exchanges: the tunnel, and how many may run at once (they do not take work slots: a session's GET stream lives long). */
    public record Mcp(McpTunnel tunnel, int maxExchanges) {}

    private final SandboxService sandboxes;
    private final WorkJournal journal;
    private final WorkAudit audit;
    private final AuditTrail trail;
    private final AgentEvents events;
    private final Mcp mcp;
    private final Observer observer;
    private final Transfers transfers;
    private final WorkLedger ledger = new WorkLedger(10_000, LEDGER_RETENTION);
    private final Semaphore slots;
    private final Semaphore exchanges;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Refusals whose audit records may wait for the log at once: a flood of commands must not become a flood of threads. */
    static final int MAX_REFUSALS_RECORDING = 256;
    private final Semaphore refusalsRecording = new Semaphore(MAX_REFUSALS_RECORDING);
    private volatile boolean draining;

    /**
     * @param journal where work with effects is remembered across restarts; what it recovered answers repeats
     * @param mcp     null when this agent has no MCP servers
     */
    public WorkRunner(SandboxService sandboxes, WorkJournal journal, AuditTrail audit, AgentEvents events, Mcp mcp, Observer observer) {
        this.sandboxes = sandboxes;
        this.journal = journal;
        this.trail = audit;
        this.audit = new WorkAudit(audit);
        this.events = events;
        this.mcp = mcp;
        this.observer = observer;
        this.transfers = new Transfers(sandboxes);
        this.slots = sandboxes.commands(); // shared with the other connectors: one bound for the daemon
        this.exchanges = new Semaphore(mcp == null ? 0 : mcp.maxExchanges());
        journal.recovered().forEach((id, result) -> ledger.putIfAbsent(id, CompletableFuture.completedFuture(result)));
    }

    public int inFlight() {
        return inFlight.get();
    }

    /** Refuse new work from now on (first SIGTERM). */
    public void startDraining() {
        draining = true;
    }

    /** Waits until no work is running, at most {@code max}; true if idle. */
    public boolean awaitIdle(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    /**
     * Takes work from {@code via}; its outcome goes back there, now or when the work is done.
     * Returns at once: it is called on a connector's loop (the Control stream's), which must
     * never wait on a disk. Everything that writes (the audit record, the journal line) happens on
     * the work's own thread, before the work runs.
     */
    public void submit(WorkItem item, Connector via) {
        String id = item.id();
        if (id.isEmpty()) {
            via.reply(id, Outcome.failed(WorkError.INVALID_ARGUMENT, "command_id is empty (expected: a unique id chosen by the control plane)"));
            return;
        }
        CompletableFuture<Outcome> fresh = new CompletableFuture<>();
        CompletableFuture<Outcome> earlier = ledger.putIfAbsent(id, fresh);
        log.debug("command {} ({}) received", id, item.work().action());
        if (earlier != null) {
            log.debug("command {} seen before; answering with its first result", id);
            if (item.work() instanceof Work.Exec x && !earlier.isDone()) {
                // The caller lost the exec's data channel (a reconnect): give it a new one. Re-attaching
                // replays buffered output, which waits for the new stream's window: not on the loop.
                Thread.ofVirtual().name("reattach-" + id).start(() -> transfers.reattach(via, id, x.resumeFromSeq(), item.deadlineOrHour()));
            }
            earlier.thenAccept(outcome -> via.reply(id, outcome));
            return;
        }
        long startedNanos = System.nanoTime();
        Outcome refusal = admission(item);
        if (refusal != null) {
            refuse(item, via, fresh, refusal, startedNanos);
            return;
        }
        inFlight.incrementAndGet();
        Thread.ofVirtual().name("command-" + id).start(() -> {
            try {
                admitted(item, via, fresh, startedNanos);
            } finally {
                inFlight.decrementAndGet();
            }
        });
    }

    /**
     * Answers work that must not run now; it is not remembered, so a retry can run. Its records go
     * to the audit log on a thread of their own; when {@link #MAX_REFUSALS_RECORDING} refusals
     * already wait for the log (a disk that stalls under a flood of commands), the answer goes
     * unrecorded, and the operational log says so.
     */
    private void refuse(WorkItem item, Connector via, CompletableFuture<Outcome> fresh, Outcome refusal, long startedNanos) {
        ledger.forget(item.id());
        fresh.complete(refusal);
        if (!refusalsRecording.tryAcquire()) {
            observer.finished(item, refusal);
            log.warn("command {} refused ({}) without an audit record: {} refusals are waiting for the audit log", item.id(),
                    refusal instanceof Outcome.Failed f ? f.error() : refusal, MAX_REFUSALS_RECORDING);
            via.reply(item.id(), refusal);
            return;
        }
        Thread.ofVirtual().name("refused-" + item.id()).start(() -> {
            try {
                if (!(item.work() instanceof Work.McpExchange)) {
                    audit.received(item);
                }
                finished(item, refusal, startedNanos);
            } catch (AuditException e) {
                log.error("the refusal of command {} could not be audited: {}", item.id(), e.getMessage());
            } finally {
                refusalsRecording.release();
            }
            via.reply(item.id(), refusal);
        });
    }

    /** On the work's own thread, holding its slot: the audit record, the journal line, then the work. */
    private void admitted(WorkItem item, Connector via, CompletableFuture<Outcome> fresh, long startedNanos) {
        String id = item.id();
        HandOffProbe.mark(id, "work thread");
        boolean isMcp = item.work() instanceof Work.McpExchange;
        Semaphore held = isMcp ? exchanges : slots;
        if (!isMcp) {
            try {
                audit.received(item);
            } catch (AuditException e) {
                // Nothing runs unrecorded.
                log.error("refusing command {}: {}", id, e.getMessage());
                held.release();
                ledger.forget(id);
                Outcome refused = Outcome.failed(WorkError.UNAVAILABLE, "the agent cannot write its audit log, so it runs nothing; see the agent's log");
                fresh.complete(refused);
                observer.finished(item, refused);
                via.reply(id, refused);
                return;
            }
        }
        HandOffProbe.mark(id, "command record (audit)");
        boolean journalled = WorkJournal.hasEffects(item.work());
        if (journalled) {
            try {
                journal.started(item);
            } catch (IOException e) {
                // Unjournalled, a repeat after a restart could run it twice: refuse instead.
                log.error("refusing command {}: cannot journal it: {}", id, e.toString());
                held.release();
                ledger.forget(id);
                Outcome refused = Outcome.failed(WorkError.UNAVAILABLE, "the agent cannot write its command journal in its state "
                        + "directory, so it runs nothing with effects; see the agent's log");
                fresh.complete(refused);
                finished(item, refused, startedNanos);
                via.reply(id, refused);
                return;
            }
        }
        HandOffProbe.mark(id, "journal line");
        Outcome outcome;
        try {
            outcome = execute(item, via);
            if (journalled) {
                journal.finished(item, outcome);
            }
        } finally {
            // The slot is free before anyone can see the result: a caller that has it may send the next
            // command at once. inFlight still counts the work until its reply is out (a drain waits for that).
            held.release();
        }
        fresh.complete(outcome);
        if (isMcp) {
            observer.finished(item, outcome); // the tunnel leaves its own audit records
        } else {
            finished(item, outcome, startedNanos);
        }
        HandOffProbe.mark(id, "outcome recorded (journal, audit)");
        via.reply(id, outcome);
    }

    /** Records the outcome; a failure to do so is logged (the work has already run). */
    private void finished(WorkItem item, Outcome outcome, long startedNanos) {
        observer.finished(item, outcome);
        try {
            audit.finished(item, outcome, Duration.ofNanos(System.nanoTime() - startedNanos));
        } catch (AuditException e) {
            log.error("the outcome of command {} could not be audited: {}", item.id(), e.getMessage());
        }
    }

    /** An outcome for work that must not run now (it is not remembered, so a retry can run), or null; takes a slot otherwise. */
    private Outcome admission(WorkItem item) {
        if (draining) {
            return Outcome.failed(WorkError.DRAINING, "this agent is shutting down and takes no new work; send it to another agent");
        }
        if (item.deadlineMs() > 0 && item.deadlineMs() <= System.currentTimeMillis()) {
            return Outcome.failed(WorkError.DEADLINE_EXCEEDED, "the command arrived after its deadline ("
                    + Instant.ofEpochMilli(item.deadlineMs()) + ")");
        }
        if (item.work() instanceof Work.Unknown u) {
            return Outcome.failed(WorkError.INVALID_ARGUMENT, u.description() + " (expected one of " + String.join(", ", Work.ACTIONS)
                    + "); is the control plane newer than this agent?");
        }
        if (item.work() instanceof Work.McpExchange) {
            if (mcp == null) {
                return Outcome.failed(WorkError.FAILED_PRECONDITION, "this agent has no MCP servers (mcp.servers is empty in its configuration)");
            }
            if (!exchanges.tryAcquire()) {
                return Outcome.failed(WorkError.RESOURCE_EXHAUSTED, "mcp.max_exchanges (" + mcp.maxExchanges()
                        + ") MCP exchanges are already under way; retry when one is done");
            }
            return null;
        }
        if (!slots.tryAcquire()) {
            return Outcome.failed(WorkError.RESOURCE_EXHAUSTED, "policy.max_concurrent_commands ("
                    + sandboxes.policy().maxConcurrentCommands() + ") commands are already running");
        }
        return null;
    }

    /** Work inside an existing sandbox counts as a use of it (the reaper leaves used sandboxes alone). */
    private Outcome execute(WorkItem item, Connector via) {
        String sandbox = switch (item.work()) {
            case Work.Provision p -> "";
            case Work.Destroy d -> "";
            case Work.Pause p -> "";
            case Work.Resume r -> "";
            default -> item.work().sandboxId();
        };
        if (sandbox.isEmpty()) {
            return run(item, via);
        }
        try (SandboxService.InUse inUse = sandboxes.use(sandbox)) {
            return run(item, via);
        }
    }

    private Outcome run(WorkItem item, Connector via) {
        String id = item.id();
        long deadline = item.deadlineOrHour();
        try {
            return switch (item.work()) {
                case Work.Provision p -> new Outcome.SandboxDone(view(provision(p)));
                case Work.Destroy d -> {
                    sandboxes.destroy(d.sandboxId());
                    yield new Outcome.Destroyed();
                }
                case Work.Get g -> new Outcome.SandboxDone(view(sandboxes.locate(g.sandboxId()).sandbox()));
                case Work.UpdateEgress u -> {
                    sandboxes.updateEgress(u.sandboxId(), egressRules("update_egress.egress", u.egress()));
                    yield new Outcome.SandboxDone(view(sandboxes.locate(u.sandboxId()).sandbox()));
                }
                case Work.Pause p -> new Outcome.SandboxDone(view(sandboxes.setPaused(p.sandboxId(), true)));
                case Work.Resume r -> new Outcome.SandboxDone(view(sandboxes.setPaused(r.sandboxId(), false)));
                case Work.ListSandboxes l -> new Outcome.Sandboxes(sandboxes.list().stream().map(this::view).toList());
                case Work.Exec x -> exec(via, item, x);
                case Work.WriteFile w -> transfers.writeFile(via, id, deadline, w.sandboxId(), w.path(), w.mode());
                case Work.ReadFile r -> transfers.readFile(via, id, deadline, r.sandboxId(), r.path());
                case Work.WriteArchive w -> transfers.writeArchive(via, id, deadline, w.sandboxId(), w.path());
                case Work.ReadArchive r -> transfers.readArchive(via, id, deadline, r.sandboxId(), r.path());
                case Work.ListFiles l -> new Outcome.Files(sandboxes.listFiles(l.sandboxId(), l.path(), l.recursive()).stream()
                        .map(WorkRunner::view).toList());
                case Work.Stat st -> new Outcome.StatDone(view(sandboxes.stat(st.sandboxId(), st.path())));
                case Work.Snapshot sn -> {
                    SandboxService.DriverSnapshot taken = sandboxes.snapshot(sn.sandboxId(), sn.name());
                    yield new Outcome.SnapshotDone(view(taken.snapshot(), taken.driver().name()));
                }
                case Work.DeleteSnapshot d -> {
                    sandboxes.deleteSnapshot(d.driver(), d.name());
                    yield new Outcome.SnapshotDeleted();
                }
                case Work.ListSnapshots l -> new Outcome.Snapshots(sandboxes.snapshots(l.driver()).stream()
                        .map(ds -> view(ds.snapshot(), ds.driver().name())).toList());
                case Work.McpExchange m -> Transfers.mcp(via, id, deadline, mcp.tunnel(), m);
                case Work.Unknown u -> throw new WorkException(WorkError.INVALID_ARGUMENT, u.description());
            };
        } catch (PolicyDeniedException e) {
            trail.record("policy.denied", Map.of("command_id", id, "rule", e.rule(), "message", e.getMessage()));
            log.info("command {} denied by {}: {}", id, e.rule(), e.getMessage());
            events.publish(new AgentEvent.PolicyDenied(id, e.rule(), e.getMessage()));
            return Outcome.failed(WorkError.POLICY_DENIED, e.getMessage());
        } catch (DriverException e) {
            return Outcome.failed(error(e.kind()), e.getMessage());
        } catch (WorkException e) {
            return Outcome.failed(e.error(), e.getMessage());
        } catch (IllegalArgumentException e) {
            return Outcome.failed(WorkError.INVALID_ARGUMENT, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Outcome.failed(WorkError.UNAVAILABLE, "the agent is shutting down");
        } catch (RuntimeException e) {
            log.error("command {} failed unexpectedly", id, e);
            return Outcome.failed(WorkError.INTERNAL, "unexpected failure (" + e.getClass().getSimpleName() + "); see the agent's log");
        }
    }

    private Sandbox provision(Work.Provision p) throws WorkException, DriverException, PolicyDeniedException, InterruptedException {
        if (!p.image().isEmpty() && !p.snapshot().isEmpty()) {
            throw new WorkException(WorkError.INVALID_ARGUMENT, "provision: both image '" + p.image() + "' and snapshot '"
                    + p.snapshot() + "' are set (expected: at most one)");
        }
        String image = p.snapshot().isEmpty() ? p.image() : Snapshot.IMAGE_PREFIX + p.snapshot();
        Work.Limits l = p.limits();
        if (l.memoryBytes() < 0 || l.maxProcesses() < 0 || l.cpuSeconds() < 0 || l.workspaceBytes() < 0) {
            throw new WorkException(WorkError.INVALID_ARGUMENT, "provision: limits must not be negative (got " + l + ")");
        }
        String driver = p.driver();
        if (!p.snapshot().isEmpty() && driver.isEmpty()) {
            // A snapshot belongs to its driver: start the sandbox there, whatever the default driver is.
            driver = sandboxes.snapshotDriver("", p.snapshot()).map(SandboxDriver::name)
                    .orElseThrow(() -> new WorkException(WorkError.NOT_FOUND, "provision: no snapshot '" + p.snapshot()
                            + "' on this agent (list them with ListSnapshots)"));
        }
        return sandboxes.provision(p.sandboxId(), driver, image, p.template(),
                new ResourceLimits(l.memoryBytes(), l.maxProcesses(), l.cpuSeconds(), l.workspaceBytes()),
                p.env(), p.labels(), p.files().stream().map(f -> new SandboxService.InitialFile(f.path(), f.content(), f.mode())).toList(),
                egressRules("provision.egress", p.egress() == null ? List.of() : p.egress()));
    }

    private Outcome.ExecDone exec(Connector via, WorkItem item, Work.Exec x)
            throws WorkException, DriverException, PolicyDeniedException, InterruptedException {
        sandboxes.locate(x.sandboxId()); // an unknown sandbox is NOT_FOUND before any policy check
        TerminalSize tty = !x.tty() ? null : x.columns() == 0 && x.rows() == 0 ? TerminalSize.DEFAULT : new TerminalSize(x.columns(), x.rows());
        ExecSpec spec = sandboxes.execSpec(x.argv(), x.env(), x.workingDir(), x.timeoutMs(), item.deadlineMs(), x.outputCapBytes(), x.stdin(), tty);
        HandOffProbe.mark(item.id(), "sandbox lookup and policy");
        Outcome.ExecDone done = transfers.exec(via, item.id(), item.deadlineOrHour(), x.sandboxId(), spec);
        events.publish(new AgentEvent.ExecFinished(item.id(), x.sandboxId(), done));
        return done;
    }

    /** The caller's rules as the daemon's, each malformed one refused naming its field. */
    static List<EgressRule> egressRules(String field, List<Work.RuleSpec> specs) throws WorkException {
        List<EgressRule> rules = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            Work.RuleSpec r = specs.get(i);
            try {
                if (!r.domain().isEmpty() && !r.cidr().isEmpty()) {
                    throw new IllegalArgumentException("names both a domain and a cidr (expected one)");
                }
                rules.add(!r.domain().isEmpty() ? EgressRule.domain(r.domain(), new HashSet<>(r.ports()))
                        : !r.cidr().isEmpty() ? EgressRule.cidr(r.cidr(), new HashSet<>(r.ports()))
                        : failRule());
            } catch (IllegalArgumentException e) {
                throw new WorkException(WorkError.INVALID_ARGUMENT, field + ".rules[" + i + "]: " + e.getMessage());
            }
        }
        return rules;
    }

    private static EgressRule failRule() {
        throw new IllegalArgumentException("names neither a domain nor a cidr (expected one)");
    }

    /** A sandbox as callers see it, with the allowlist the proxy enforces for it. */
    public Outcome.SandboxView view(Sandbox s) {
        List<Work.RuleSpec> egress = sandboxes.egressOf(s.id()).rules().stream()
                .map(r -> new Work.RuleSpec(r.domain(), r.domain() == null ? r.cidr().toString() : "", r.ports().stream().sorted().toList()))
                .toList();
        return new Outcome.SandboxView(s.id(), s.driver(), s.state().name(), s.createdAt().toEpochMilli(), s.labels(), egress);
    }

    private static Outcome.FileView view(FileEntry e) {
        return new Outcome.FileView(e.path(), e.type().name(), e.size(), e.modifiedAt().toEpochMilli());
    }

    private static Outcome.SnapshotView view(Snapshot s, String driver) {
        return new Outcome.SnapshotView(s.name(), s.sourceSandboxId(), s.createdAt().toEpochMilli(), s.sizeBytes(), driver);
    }

    static WorkError error(DriverException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> WorkError.INVALID_ARGUMENT;
            case NOT_FOUND -> WorkError.NOT_FOUND;
            case FAILED_PRECONDITION -> WorkError.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> WorkError.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> WorkError.UNAVAILABLE;
            case UNIMPLEMENTED -> WorkError.UNIMPLEMENTED;
            case INTERNAL -> WorkError.INTERNAL;
        };
    }
}
