package io.airlock.connector.grpc;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.work.DataChannel;
import io.airlock.core.work.WorkException;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DrainNotice;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.Ping;
import io.airlock.proto.v1.Pong;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one Control stream to the control plane alive for the life of the process.
 *
 * <p>Every state change runs on one single-threaded executor, so the connection logic has no
 * locks and no races (the pattern of grpc-java's xDS ControlPlaneClient). Each attempt gets a
 * fresh channel: after a half-open link is detected, reusing the old transport could hang on
 * the dead socket. The backoff resets once a connection stayed up for {@code reset_after}.
 * A Ping is sent every {@code ping_interval}; no Pong within {@code ping_timeout} drops the
 * link, whatever load balancers in between think of it.
 */
public final class ControlConnection implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlConnection.class);
    /** Messages waiting for the window to open; more means the control plane stopped reading. */
    static final int MAX_OUTBOX = 4096;

    /** Where commands go; results come back through {@link #send}. */
    public interface CommandSink {
        void onCommand(Command command);

        /** Commands still running, so a server Drain can wait for them. */
        int inFlight();
    }

    private final DaemonConfig.ControlPlane config;
    private final Supplier<ManagedChannel> channels;
    private final Supplier<Hello> hello;
    private final CommandSink commands;
    private final ConnectionListener listener;
    private final ScheduledExecutorService loop;
    private final Backoff backoff;

    // State below is touched on `loop` only.
    private final Supplier<AuditAnchor> auditAnchor;
    private ManagedChannel channel;
    private ClientCallStreamObserver<AgentMessage> out;
    private final ArrayDeque<AgentMessage> outbox = new ArrayDeque<>();
    private int generation;
    private boolean welcomed;
    private long welcomedAtNanos;
    private long outstandingPing;
    private ScheduledFuture<?> pingTask;
    private ScheduledFuture<?> pingDeadline;
    private ScheduledFuture<?> welcomeDeadline;
    private ScheduledFuture<?> retryTask;
    private ScheduledFuture<?> drainWatch;
    private String resumeToken = "";
    private boolean closed;

    /** The channel of the live session, for Data streams; read from any thread. */
    private volatile ManagedChannel liveChannel;
    /**
     * Data streams opened ahead on the live channel, waiting for commands: a few operations
     * starting at once. The system property is for benchmarks (0 turns it off, for an A/B).
     */
    static final int DATA_STREAMS_AHEAD = Integer.getInteger("airlock.dataStreamsAhead", 4);
    private final DataStreamPool dataStreams = new DataStreamPool(DATA_STREAMS_AHEAD,
            ch -> GrpcDataChannel.idle((observer, deadlineMs) -> openData(ch, observer, 0)));

    /**
     * @param auditAnchor the newest audit record on disk, sent with every Ping for the control plane
     *                    to keep outside this host (null: none yet)
     */
    public ControlConnection(DaemonConfig.ControlPlane config, Supplier<ManagedChannel> channels, Supplier<Hello> hello,
            Supplier<AuditAnchor> auditAnchor, CommandSink commands, ConnectionListener listener) {
        this.config = config;
        this.auditAnchor = auditAnchor;
        this.channels = channels;
        this.hello = hello;
        this.commands = commands;
        this.listener = listener;
        this.backoff = new Backoff(config.backoff(), ThreadLocalRandom.current());
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "airlock-control");
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs on the serialising executor; after close, late gRPC callbacks are dropped (nothing is left to update). */
    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("connection closed; dropping a late callback");
        }
    }

    public void start() {
        onLoop(this::connect);
    }

    private void connect() {
        if (closed) {
            return;
        }
        int gen = ++generation;
        welcomed = false;
        outstandingPing = 0;
        channel = channels.get();
        ManagedChannel ch = channel;
        out = (ClientCallStreamObserver<AgentMessage>) AgentGatewayGrpc.newStub(ch).control(new ClientResponseObserver<AgentMessage, ControlPlaneMessage>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<AgentMessage> requests) {
                requests.setOnReadyHandler(() -> onLoop(() -> {
                    if (gen == generation) {
                        flush();
                    }
                }));
            }

            @Override
            public void onNext(ControlPlaneMessage message) {
                onLoop(() -> {
                    if (gen == generation) {
                        handle(message);
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                onLoop(() -> {
                    if (gen == generation) {
                        lost(describe(Status.fromThrowable(t)));
                    }
                });
            }

            @Override
            public void onCompleted() {
                onLoop(() -> {
                    if (gen == generation) {
                        lost("the control plane closed the stream");
                    }
                });
            }
        });
        Hello h = hello.get().toBuilder().setResumeToken(resumeToken).setPingIntervalMs(config.pingInterval().toMillis()).build();
        out.onNext(AgentMessage.newBuilder().setHello(h).build());
        welcomeDeadline = loop.schedule(() -> {
            if (gen == generation && !welcomed) {
                lost("no Welcome within connect_timeout " + config.connectTimeout().toMillis() + "ms");
            }
        }, config.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String describe(Status s) {
        String cause = s.getCause() != null && s.getCause().getMessage() != null ? " (" + s.getCause().getMessage() + ")" : "";
        return s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "") + cause;
    }

    private void handle(ControlPlaneMessage message) {
        switch (message.getBodyCase()) {
            case WELCOME -> {
                welcomed = true;
                welcomedAtNanos = System.nanoTime();
                resumeToken = message.getWelcome().getResumeToken();
                cancel(welcomeDeadline);
                liveChannel = channel;
                dataStreams.fill(channel);
                long interval = config.pingInterval().toMillis();
                pingTask = loop.scheduleAtFixedRate(this::ping, interval, interval, TimeUnit.MILLISECONDS);
                log.info("connected to control plane (session {})", message.getWelcome().getSessionId());
                listener.connected(message.getWelcome().getSessionId());
                flush();
            }
            case COMMAND -> commands.onCommand(message.getCommand());
            case PING -> enqueue(AgentMessage.newBuilder().setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
            case PONG -> {
                if (message.getPong().getNonce() == outstandingPing) {
                    outstandingPing = 0;
                    cancel(pingDeadline);
                }
            }
            case DRAIN -> {
                log.info("control plane is draining ({}); finishing {} command(s), then reconnecting",
                        message.getDrain().getReason(), commands.inFlight());
                listener.serverDraining(message.getDrain().getReason());
                watchServerDrain(System.nanoTime());
            }
            case RECONNECT -> {
                log.info("control plane asked to reconnect: {}", message.getReconnect().getReason());
                backoff.reset();
                restart("the control plane asked to reconnect: " + message.getReconnect().getReason(), Duration.ZERO);
            }
            default -> log.debug("ignoring control message {}", message.getBodyCase());
        }
    }

    /** After a server Drain: reconnect once our in-flight commands have finished (or a grace period passed). */
    private void watchServerDrain(long sinceNanos) {
        cancel(drainWatch);
        int gen = generation;
        drainWatch = loop.schedule(() -> {
            if (gen != generation) {
                return;
            }
            boolean graceOver = System.nanoTime() - sinceNanos > TimeUnit.SECONDS.toNanos(60);
            if (commands.inFlight() == 0 || graceOver) {
                backoff.reset();
                restart("the control plane drained this connection", Duration.ZERO);
            } else {
                watchServerDrain(sinceNanos);
            }
        }, 100, TimeUnit.MILLISECONDS);
    }

    private void ping() {
        if (!welcomed || outstandingPing != 0) {
            return;
        }
        long nonce = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        outstandingPing = nonce;
        // Pings bypass the outbox order but still respect the window: a full window is itself a sign of trouble.
        Ping.Builder ping = Ping.newBuilder().setNonce(nonce);
        AuditAnchor anchor = auditAnchor.get();
        if (anchor != null) {
            ping.setAuditAnchor(anchor);
        }
        enqueue(AgentMessage.newBuilder().setPing(ping).build());
        int gen = generation;
        pingDeadline = loop.schedule(() -> {
            if (gen == generation && outstandingPing == nonce) {
                lost("no Pong within ping_timeout " + config.pingTimeout().toMillis() + "ms: the link is dead or half-open");
            }
        }, config.pingTimeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Sends a message on the live session; silently dropped when there is none (results are re-fetched by command id). */
    public void send(AgentMessage message) {
        onLoop(() -> {
            if (welcomed) {
                enqueue(message);
            } else {
                log.debug("not connected; dropping {}", message.getBodyCase());
            }
        });
    }

    private void enqueue(AgentMessage message) {
        if (outbox.size() >= MAX_OUTBOX) {
            lost("the control plane stopped reading: " + MAX_OUTBOX + " messages waiting");
            return;
        }
        outbox.add(message);
        flush();
    }

    private void flush() {
        while (out != null && !outbox.isEmpty() && out.isReady()) {
            out.onNext(outbox.poll());
        }
    }

    private void lost(String reason) {
        log.warn("control connection lost: {}", reason);
        restart(reason, null);
    }

    /** Tears the session down and schedules the next attempt ({@code delay} null: from the backoff). */
    private void restart(String reason, Duration delay) {
        boolean wasStable = welcomed && System.nanoTime() - welcomedAtNanos >= config.backoff().resetAfter().toNanos();
        teardown(Status.UNAVAILABLE.withDescription(reason));
        listener.disconnected(reason);
        if (closed) {
            return;
        }
        if (wasStable) {
            backoff.reset();
        }
        Duration wait = delay != null ? delay : backoff.next();
        listener.reconnectScheduled(wait);
        retryTask = loop.schedule(this::connect, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void teardown(Status status) {
        generation++;
        welcomed = false;
        liveChannel = null;
        dataStreams.clear();
        cancel(pingTask);
        cancel(pingDeadline);
        cancel(welcomeDeadline);
        cancel(drainWatch);
        outbox.clear();
        if (out != null) {
            try {
                out.cancel(status.getDescription(), null);
            } catch (RuntimeException e) {
                log.debug("cancel: {}", e.toString());
            }
            out = null;
        }
        if (channel != null) {
            channel.shutdownNow();
            channel = null;
        }
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /**
     * How much a Data stream's sender may queue beyond what HTTP/2 took before it waits: four
     * 32 KiB frames. grpc-java's default (32 KiB, one frame) made a large transfer wait for a
     * callback after every frame; this bounds each stream's queue at 128 KiB instead.
     */
    static final int DATA_ONREADY_THRESHOLD = 128 * 1024;

    /**
     * A Data stream for command {@code commandId} on the live session's channel: one opened ahead
     * ({@link DataStreamPool}) when one waits, else a new one; fails fast when there is no session.
     */
    GrpcDataChannel dataChannel(String commandId, long deadlineMs, DataChannel.Inbound inbound) throws WorkException {
        GrpcDataChannel pooled = dataStreams.take(liveChannel);
        if (pooled == null) {
            return GrpcDataChannel.open(this::openData, commandId, deadlineMs, inbound);
        }
        pooled.claim(commandId, inbound);
        try {
            ScheduledFuture<?> deadline = loop.schedule(pooled::deadlineReached, Math.max(1, deadlineMs - System.currentTimeMillis()),
                    TimeUnit.MILLISECONDS);
            pooled.peerClosed().whenComplete((v, t) -> deadline.cancel(false));
            loop.execute(() -> dataStreams.fill(liveChannel));
        } catch (RejectedExecutionException e) {
            pooled.abort("the agent is shutting down");
        }
        return pooled;
    }

    /** Opens a Data call on the live session's channel ({@code deadlineMs} 0: none), or fails fast when there is none. */
    private ClientCallStreamObserver<DataFrame> openData(ClientResponseObserver<DataFrame, DataFrame> observer, long deadlineMs) {
        ManagedChannel ch = liveChannel;
        if (ch == null) {
            throw Status.UNAVAILABLE.withDescription("no live connection to the control plane").asRuntimeException();
        }
        return openData(ch, observer, deadlineMs);
    }

    private static ClientCallStreamObserver<DataFrame> openData(ManagedChannel ch, ClientResponseObserver<DataFrame, DataFrame> observer,
            long deadlineMs) {
        AgentGatewayGrpc.AgentGatewayStub stub = AgentGatewayGrpc.newStub(ch).withOnReadyThreshold(DATA_ONREADY_THRESHOLD);
        if (deadlineMs > 0) {
            stub = stub.withDeadlineAfter(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
        }
        return (ClientCallStreamObserver<DataFrame>) stub.data(observer);
    }

    /** Tells the control plane we are draining (first SIGTERM). */
    public void sendDrainNotice(String reason, long graceDeadlineMs) {
        send(AgentMessage.newBuilder().setDrainNotice(DrainNotice.newBuilder().setReason(reason).setGraceDeadlineMs(graceDeadlineMs)).build());
    }

    /** The live session's channel for unary calls (certificate renewal), or null when there is none. */
    public ManagedChannel liveChannel() {
        return liveChannel;
    }

    /** True while a session is up (Welcome received). */
    public boolean isConnected() {
        return liveChannel != null;
    }

    /** Closes the stream cleanly (after flushing what is queued, within {@code max}) and stops reconnecting. */
    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }

    public void close(Duration max) {
        var done = new CompletableFuture<Void>();
        onLoop(() -> {
            closed = true;
            cancel(retryTask);
            flush();
            if (out != null && outbox.isEmpty()) {
                try {
                    out.onCompleted();
                } catch (RuntimeException e) {
                    log.debug("completing control stream: {}", e.toString());
                }
                out = null;
            }
            ManagedChannel ch = channel;
            boolean wasUp = welcomed;
            welcomed = false;
            if (wasUp) {
                listener.disconnected("the daemon is stopping");
            }
            teardownLater(ch, max);
            done.complete(null);
        });
        try {
            done.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.debug("close: {}", e.toString());
        }
        loop.shutdownNow();
    }

    private void teardownLater(ManagedChannel ch, Duration max) {
        liveChannel = null;
        dataStreams.clear();
        if (ch != null) {
            ch.shutdown();
            try {
                if (!ch.awaitTermination(max.toMillis(), TimeUnit.MILLISECONDS)) {
                    ch.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ch.shutdownNow();
            }
        }
        channel = null;
    }
}
