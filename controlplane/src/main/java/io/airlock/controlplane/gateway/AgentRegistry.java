package io.airlock.controlplane.gateway;

import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.DrainNotice;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.Event;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.Pong;
import io.airlock.proto.v1.SandboxEvent;
import io.airlock.proto.v1.SandboxState;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the control plane knows about agents: the live session of each, commands waiting for
 * results (re-sent when an agent reconnects: the agent's idempotency makes that safe), Data
 * stream handlers waiting for their stream, and a bounded record of recent events.
 */
public final class AgentRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentRegistry.class);
    static final int MAX_PENDING_COMMANDS = 10_000;
    static final int MAX_EVENTS_PER_AGENT = 1_000;

    /** What an operator sees of an agent. */
    public record AgentView(String agentId, boolean connected, Hello hello, Instant connectedAt, DrainNotice drainNotice, int liveSandboxes) {}

    /** Sandboxes tracked per agent at most: an agent's ids beyond it are not counted (its policy caps far lower). */
    static final int MAX_TRACKED_SANDBOXES = 100_000;

    /** An event or a notable session change, as recorded. */
    public record RecordedEvent(String agentId, Instant at, String kind, String detail) {}

    private record Pending(String agentId, Command command, CompletableFuture<CommandResult> result) {}

    private final Map<String, AgentSession> sessions = new ConcurrentHashMap<>();
    private final Map<String, Hello> lastHello = new ConcurrentHashMap<>();
    private final Map<String, DrainNotice> draining = new ConcurrentHashMap<>();
    /** The sandboxes each agent holds now: its Hello's inventory, then its sandbox events. */
    private final Map<String, Set<String>> liveSandboxes = new ConcurrentHashMap<>();
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    private final Map<String, DataStreamHandler> dataHandlers = new ConcurrentHashMap<>();
    private final Map<String, String> dataHandlerAgent = new ConcurrentHashMap<>();
    private final Map<String, ArrayDeque<RecordedEvent>> events = new ConcurrentHashMap<>();
    private final AuditAnchors anchors;
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "cp-command-deadlines");
        t.setDaemon(true);
        return t;
    });

    /** @param anchors where the agents' audit anchors are kept */
    public AgentRegistry(AuditAnchors anchors) {
        this.anchors = anchors;
    }

    /** The audit anchors agents reported. */
    public AuditAnchors anchors() {
        return anchors;
    }

    void register(AgentSession session) {
        if (session.hello().hasAuditAnchor()) {
            anchors.report(session.agentId(), session.hello().getAuditAnchor());
        }
        AgentSession previous = sessions.put(session.agentId(), session);
        lastHello.put(session.agentId(), session.hello());
        Set<String> live = ConcurrentHashMap.newKeySet();
        session.hello().getInventoryList().stream().filter(i -> isLive(i.getState())).limit(MAX_TRACKED_SANDBOXES)
                .forEach(i -> live.add(i.getSandboxId()));
        liveSandboxes.put(session.agentId(), live);
        draining.remove(session.agentId());
        if (previous != null && previous != session) {
            previous.close(Status.ABORTED.withDescription("superseded by a newer control stream from the same agent"));
        }
        record(session.agentId(), "connected", "session " + session.sessionId() + ", " + session.hello().getInventoryCount()
                + " live sandbox(es) reported");
        for (Pending p : pending.values()) {
            if (p.agentId().equals(session.agentId())) {
                DataStreamHandler h = dataHandlers.get(p.command().getCommandId());
                Command again = h == null ? p.command() : h.forResend(p.command());
                session.send(ControlPlaneMessage.newBuilder().setCommand(again).build());
            }
        }
        synchronized (this) {
            notifyAll();
        }
    }

    void unregister(AgentSession session, String why) {
        session.markClosed();
        if (sessions.remove(session.agentId(), session)) {
            record(session.agentId(), "disconnected", why);
        }
        synchronized (this) {
            notifyAll();
        }
    }

    void onAgentMessage(AgentSession session, AgentMessage message) {
        switch (message.getBodyCase()) {
            case RESULT -> {
                CommandResult r = message.getResult();
                Pending p = pending.remove(r.getCommandId());
                if (p != null) {
                    p.result().complete(r);
                }
            }
            case EVENT -> {
                if (message.getEvent().hasSandbox()) {
                    track(session.agentId(), message.getEvent().getSandbox());
                }
                record(session.agentId(), "event", describe(message.getEvent()));
            }
            case DRAIN_NOTICE -> {
                draining.put(session.agentId(), message.getDrainNotice());
                record(session.agentId(), "draining", message.getDrainNotice().getReason());
            }
            case PING -> {
                if (message.getPing().hasAuditAnchor()) {
                    anchors.report(session.agentId(), message.getPing().getAuditAnchor());
                }
                session.send(ControlPlaneMessage.newBuilder()
                        .setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
            }
            default -> { }
        }
    }

    private void track(String agentId, SandboxEvent e) {
        Set<String> live = liveSandboxes.computeIfAbsent(agentId, k -> ConcurrentHashMap.newKeySet());
        if (!isLive(e.getState())) {
            live.remove(e.getSandboxId());
        } else if (live.size() < MAX_TRACKED_SANDBOXES) {
            live.add(e.getSandboxId());
        }
    }

    private static boolean isLive(SandboxState state) {
        return state != SandboxState.DESTROYED && state != SandboxState.FAILED;
    }

    private static String describe(Event e) {
        return switch (e.getBodyCase()) {
            case SANDBOX -> "sandbox " + e.getSandbox().getSandboxId() + " " + e.getSandbox().getState() + " (" + e.getSandbox().getReason() + ")";
            case EXEC_FINISHED -> "exec " + e.getExecFinished().getCommandId() + " in " + e.getExecFinished().getSandboxId()
                    + " exited " + e.getExecFinished().getResult().getExitCode()
                    + (e.getExecFinished().getResult().getTimedOut() ? " (timed out)" : "");
            case POLICY_DENIED -> "policy denied command " + e.getPolicyDenied().getCommandId() + ": " + e.getPolicyDenied().getMessage();
            case OOM_KILL -> "sandbox " + e.getOomKill().getSandboxId() + " OOM kill: " + e.getOomKill().getDetail();
            case IMAGE_PULL -> "sandbox " + e.getImagePull().getSandboxId() + " pulling " + e.getImagePull().getImage() + ": "
                    + (e.getImagePull().getLayer().isEmpty() ? "" : e.getImagePull().getLayer() + " ") + e.getImagePull().getStatus()
                    + (e.getImagePull().getTotalBytes() > 0 ? " " + e.getImagePull().getCurrentBytes() + "/" + e.getImagePull().getTotalBytes() : "");
            case DRIVER_STATUS -> "driver " + e.getDriverStatus().getDriver() + (e.getDriverStatus().getAvailable() ? " available"
                    : " unavailable: " + e.getDriverStatus().getReason());
            default -> e.getBodyCase().toString();
        };
    }

    /** Longer details are cut: an agent may send 4 MiB messages, and the recent events of every agent stay in memory. */
    static final int MAX_DETAIL_CHARS = 2000;

    private void record(String agentId, String kind, String detail) {
        if (detail.length() > MAX_DETAIL_CHARS) {
            detail = detail.substring(0, MAX_DETAIL_CHARS) + "... (" + detail.length() + " characters)";
        }
        ArrayDeque<RecordedEvent> q = events.computeIfAbsent(agentId, k -> new ArrayDeque<>());
        synchronized (q) {
            if (q.size() >= MAX_EVENTS_PER_AGENT) {
                q.removeFirst();
            }
            q.addLast(new RecordedEvent(agentId, Instant.now(), kind, detail));
        }
    }

    public List<RecordedEvent> events(String agentId) {
        ArrayDeque<RecordedEvent> q = events.get(agentId);
        if (q == null) {
            return List.of();
        }
        synchronized (q) {
            return List.copyOf(q);
        }
    }

    public List<AgentView> agents() {
        List<AgentView> out = new ArrayList<>();
        for (var e : lastHello.entrySet()) {
            AgentSession s = sessions.get(e.getKey());
            out.add(new AgentView(e.getKey(), s != null, s != null ? s.hello() : e.getValue(),
                    s != null ? s.connectedAt() : null, draining.get(e.getKey()), liveSandboxes.getOrDefault(e.getKey(), Set.of()).size()));
        }
        out.sort(Comparator.comparing(AgentView::agentId));
        return out;
    }

    public Optional<AgentView> agent(String agentId) {
        return agents().stream().filter(a -> a.agentId().equals(agentId)).findFirst();
    }

    /** Waits until the agent has a live session whose Hello matches; false at the deadline. */
    public synchronized boolean awaitConnected(String agentId, Predicate<Hello> condition, Duration max)
            throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            AgentSession s = sessions.get(agentId);
            if (s != null && !s.isClosed() && condition.test(s.hello())) {
                return true;
            }
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) {
                return false;
            }
            wait(Math.min(left, 100));
        }
    }

    /** Sends a command (now, or when the agent connects) and completes with its result or a deadline failure. */
    CompletableFuture<CommandResult> send(String agentId, Command command, DataStreamHandler dataHandler) {
        CompletableFuture<CommandResult> result = new CompletableFuture<>();
        if (pending.size() >= MAX_PENDING_COMMANDS) {
            result.completeExceptionally(new CommandFailedException(ErrorCode.RESOURCE_EXHAUSTED,
                    "too many commands in flight (" + MAX_PENDING_COMMANDS + ")"));
            return result;
        }
        String id = command.getCommandId();
        if (dataHandler != null) {
            dataHandlers.put(id, dataHandler);
            dataHandlerAgent.put(id, agentId);
        }
        Pending entry = new Pending(agentId, command, result);
        Pending previous = pending.putIfAbsent(id, entry);
        if (previous != null) {
            return previous.result();
        }
        // However it ends (a result, the deadline, the caller giving up), it is never re-sent after.
        result.whenComplete((r, t) -> pending.remove(id, entry));
        long delay = Math.max(0, command.getDeadlineMs() - System.currentTimeMillis());
        var timer = timers.schedule(() -> {
            if (pending.remove(id) != null) {
                result.completeExceptionally(new CommandFailedException(ErrorCode.DEADLINE_EXCEEDED,
                        "agent " + agentId + " did not answer command " + id + " before its deadline"
                                + (sessions.containsKey(agentId) ? "" : " (the agent is not connected)")));
            }
        }, delay, TimeUnit.MILLISECONDS);
        result.whenComplete((r, t) -> {
            timer.cancel(false);
            // On success the handler stays claimable: the agent finishes the Data stream before it
            // sends the result, but the two travel on different HTTP/2 streams and the result may be
            // handled first. The caller releases it once the stream closed.
            if (t != null || (r != null && r.hasError())) {
                DataStreamHandler h = releaseDataStream(id);
                if (h != null) {
                    h.closed(t != null ? t : new CommandFailedException(r.getError()));
                }
            }
        });
        AgentSession session = sessions.get(agentId);
        if (session != null) {
            session.send(ControlPlaneMessage.newBuilder().setCommand(command).build());
        } else {
            log.info("agent {} not connected; command {} waits for it until its deadline", agentId, id);
        }
        return result;
    }

    /** Forgets the Data stream handler of a finished command. */
    DataStreamHandler releaseDataStream(String commandId) {
        dataHandlerAgent.remove(commandId);
        return dataHandlers.remove(commandId);
    }

    /** The handler for a Data stream the agent opened, if the command is ours and the agent's. */
    DataStreamHandler claimDataStream(String agentId, String commandId) {
        String owner = dataHandlerAgent.get(commandId);
        if (owner == null || !owner.equals(agentId)) {
            return null;
        }
        return dataHandlers.get(commandId);
    }

    /** Sends Drain or Reconnect to an agent's live session. */
    public boolean sendToAgent(String agentId, ControlPlaneMessage message) {
        AgentSession s = sessions.get(agentId);
        if (s == null) {
            return false;
        }
        s.send(message);
        return true;
    }

    @Override
    public void close() {
        for (AgentSession s : sessions.values()) {
            s.close(Status.UNAVAILABLE.withDescription("control plane shutting down"));
        }
        timers.shutdownNow();
    }
}
