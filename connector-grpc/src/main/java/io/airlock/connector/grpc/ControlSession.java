package io.airlock.connector.grpc;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.retry.Backoff;
import io.airlock.core.work.HandOffProbe;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.DrainNotice;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.Ping;
import io.airlock.proto.v1.Pong;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one Control stream to the control plane alive for the life of the process: Hello and
 * Welcome, pings both ways with half-open detection, the control plane's Drain and Reconnect,
 * reconnects with backoff, a bounded outbox.
 *
 * <p>Every state change runs on {@code loop}, one serialising executor, so there are no locks
 * and no races (the pattern of grpc-java's xDS ControlPlaneClient). Time ({@code ticker}, the
 * loop's schedule), randomness and the wire ({@link ControlTransport}) are passed in, so tests
 * drive it with a fake clock in milliseconds. Each attempt's state lives in an {@link Attempt};
 * a callback of an attempt that is no longer current is dropped in one place. Nothing here
 * blocks the loop: commands go to the sink (which must return at once), listeners are told
 * through their own executor.
 */
public final class ControlSession {
    private static final Logger log = LoggerFactory.getLogger(ControlSession.class);
    /** Messages waiting for the window to open; more means the control plane stopped reading. */
    static final int MAX_OUTBOX = 4096;
    /** How often a server Drain checks whether the running commands are done. */
    static final long DRAIN_CHECK_MS = 100;

    /** Where commands go; results come back through {@link #send}. */
    public interface CommandSink {
        /** Takes a command; runs on the loop, so it must return at once (no disk, no lock, no peer). */
        void onCommand(Command command);

        /** Commands still running, so a server Drain can wait for them. */
        int inFlight();
    }

    private final DaemonConfig.ControlPlane config;
    private final ControlTransport transport;
    private final ScheduledExecutorService loop;
    private final LongSupplier ticker;
    private final Backoff backoff;
    private final RandomGenerator random;
    private final Supplier<Hello> hello;
    private final Supplier<AuditAnchor> auditAnchor;
    private final CommandSink commands;
    private final ConnectionListener listener;

    // Touched on the loop only.
    private Attempt current;
    private int failures;
    private ScheduledFuture<?> retryTask;
    private String resumeToken = "";
    private boolean closed;

    /** True while a session is up (Welcome received); read from any thread. */
    private volatile boolean connected;

    /**
     * @param loop        the serialising executor every state change runs on (it owns nothing else)
     * @param ticker      monotonic nanoseconds, the loop's clock
     * @param auditAnchor the newest audit record on disk, sent with every Ping for the control plane to
     *                    keep outside this host (null: none yet); must not wait on the audit log
     * @param listener    told of connection changes on the loop: it must hand anything slow off
     */
    public ControlSession(DaemonConfig.ControlPlane config, ControlTransport transport, ScheduledExecutorService loop, LongSupplier ticker,
            RandomGenerator random, Supplier<Hello> hello, Supplier<AuditAnchor> auditAnchor, CommandSink commands,
            ConnectionListener listener) {
        this.config = config;
        this.transport = transport;
        this.loop = loop;
        this.ticker = ticker;
        this.backoff = Backoff.of(config.backoff());
        this.random = random;
        this.hello = hello;
        this.auditAnchor = auditAnchor;
        this.commands = commands;
        this.listener = listener;
    }

    /** The state of one connection attempt: its stream, whether it was welcomed, its pings and timers. */
    private final class Attempt implements ControlTransport.Events {
        ControlTransport.Stream stream;
        final ArrayDeque<AgentMessage> outbox = new ArrayDeque<>();
        boolean welcomed;
        long welcomedAtNanos;
        long outstandingPing;
        ScheduledFuture<?> pingTask;
        ScheduledFuture<?> pingDeadline;
        ScheduledFuture<?> welcomeDeadline;
        ScheduledFuture<?> drainWatch;

        /** Runs {@code task} on the loop while this attempt is the current one; a late callback is dropped. */
        private void onLoop(Consumer<Attempt> task) {
            ControlSession.this.onLoop(() -> {
                if (current == this) {
                    task.accept(this);
                }
            });
        }

        @Override
        public void ready() {
            onLoop(Attempt::flush);
        }

        @Override
        public void message(ControlPlaneMessage message) {
            onLoop(a -> handle(a, message));
        }

        @Override
        public void failed(String description) {
            onLoop(a -> lost(description));
        }

        @Override
        public void completed() {
            onLoop(a -> lost("the control plane closed the stream"));
        }

        void enqueue(AgentMessage message) {
            if (outbox.size() >= MAX_OUTBOX) {
                lost("the control plane stopped reading: " + MAX_OUTBOX + " messages waiting");
                return;
            }
            outbox.add(message);
            flush();
        }

        void flush() {
            while (!outbox.isEmpty() && stream.isReady()) {
                AgentMessage m = outbox.poll();
                stream.send(m);
                if (HandOffProbe.ENABLED && m.hasResult()) {
                    HandOffProbe.mark(m.getResult().getCommandId(), "result on the wire (control loop)");
                }
            }
        }

        boolean stable() {
            return welcomed && ticker.getAsLong() - welcomedAtNanos >= config.backoff().resetAfter().toNanos();
        }

        /** Stops this attempt's timers; the stream is ended by the caller. */
        void stopTimers() {
            cancel(pingTask);
            cancel(pingDeadline);
            cancel(welcomeDeadline);
            cancel(drainWatch);
        }
    }

    /** Runs on the loop; after the loop stopped, late callbacks are dropped (nothing is left to update). */
    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("control session closed; dropping a late callback");
        }
    }

    private ScheduledFuture<?> later(Runnable task, long delayMs) {
        return loop.schedule(task, delayMs, TimeUnit.MILLISECONDS);
    }

    public void start() {
        onLoop(this::connect);
    }

    private void connect() {
        if (closed) {
            return;
        }
        Attempt a = new Attempt();
        current = a;
        a.stream = transport.open(a);
        Hello h = hello.get().toBuilder().setResumeToken(resumeToken).setPingIntervalMs(config.pingInterval().toMillis()).build();
        a.stream.send(AgentMessage.newBuilder().setHello(h).build());
        a.welcomeDeadline = later(() -> {
            if (current == a && !a.welcomed) {
                lost("no Welcome within connect_timeout " + config.connectTimeout().toMillis() + "ms");
            }
        }, config.connectTimeout().toMillis());
    }

    private void handle(Attempt a, ControlPlaneMessage message) {
        switch (message.getBodyCase()) {
            case WELCOME -> welcomed(a, message.getWelcome().getResumeToken(), message.getWelcome().getSessionId());
            case COMMAND -> {
                HandOffProbe.mark(message.getCommand().getCommandId(), "control loop");
                commands.onCommand(message.getCommand());
            }
            case PING -> a.enqueue(AgentMessage.newBuilder().setPong(Pong.newBuilder().setNonce(message.getPing().getNonce())).build());
            case PONG -> {
                if (message.getPong().getNonce() == a.outstandingPing) {
                    a.outstandingPing = 0;
                    cancel(a.pingDeadline);
                }
            }
            case DRAIN -> {
                log.info("control plane is draining ({}); finishing {} command(s), then reconnecting",
                        message.getDrain().getReason(), commands.inFlight());
                listener.serverDraining(message.getDrain().getReason());
                watchServerDrain(a, ticker.getAsLong());
            }
            case RECONNECT -> {
                log.info("control plane asked to reconnect: {}", message.getReconnect().getReason());
                failures = 0;
                restart("the control plane asked to reconnect: " + message.getReconnect().getReason(), 0L);
            }
            default -> log.debug("ignoring control message {}", message.getBodyCase());
        }
    }

    private void welcomed(Attempt a, String token, String sessionId) {
        if (a.welcomed) {
            log.debug("ignoring a second Welcome");
            return;
        }
        a.welcomed = true;
        a.welcomedAtNanos = ticker.getAsLong();
        resumeToken = token;
        cancel(a.welcomeDeadline);
        a.stream.established();
        connected = true;
        long interval = config.pingInterval().toMillis();
        a.pingTask = loop.scheduleAtFixedRate(() -> {
            if (current == a) {
                ping(a);
            }
        }, interval, interval, TimeUnit.MILLISECONDS);
        log.info("connected to control plane (session {})", sessionId);
        listener.connected(sessionId);
        a.flush();
    }

    /** After a server Drain: reconnect once our running commands are done, or after {@code drain_wait}. */
    private void watchServerDrain(Attempt a, long sinceNanos) {
        cancel(a.drainWatch);
        a.drainWatch = later(() -> {
            if (current != a) {
                return;
            }
            boolean waitOver = ticker.getAsLong() - sinceNanos >= config.drainWait().toNanos();
            if (commands.inFlight() == 0 || waitOver) {
                failures = 0;
                restart("the control plane drained this connection", 0L);
            } else {
                watchServerDrain(a, sinceNanos);
            }
        }, DRAIN_CHECK_MS);
    }

    private void ping(Attempt a) {
        if (!a.welcomed || a.outstandingPing != 0) {
            return;
        }
        long nonce = random.nextLong(1, Long.MAX_VALUE);
        a.outstandingPing = nonce;
        // Pings bypass nothing: a full window is itself a sign of trouble.
        Ping.Builder ping = Ping.newBuilder().setNonce(nonce);
        AuditAnchor anchor = auditAnchor.get();
        if (anchor != null) {
            ping.setAuditAnchor(anchor);
        }
        a.enqueue(AgentMessage.newBuilder().setPing(ping).build());
        a.pingDeadline = later(() -> {
            if (current == a && a.outstandingPing == nonce) {
                lost("no Pong within ping_timeout " + config.pingTimeout().toMillis() + "ms: the link is dead or half-open");
            }
        }, config.pingTimeout().toMillis());
    }

    /** Sends a message on the live session; dropped when there is none (results are fetched again by command id). */
    public void send(AgentMessage message) {
        onLoop(() -> {
            Attempt a = current;
            if (a != null && a.welcomed) {
                a.enqueue(message);
            } else {
                log.debug("not connected; dropping {}", message.getBodyCase());
            }
        });
    }

    /** Tells the control plane we are draining (first SIGTERM). */
    public void sendDrainNotice(String reason, long graceDeadlineMs) {
        send(AgentMessage.newBuilder().setDrainNotice(DrainNotice.newBuilder().setReason(reason).setGraceDeadlineMs(graceDeadlineMs)).build());
    }

    /** True while a session is up (Welcome received). */
    public boolean isConnected() {
        return connected;
    }

    private void lost(String reason) {
        log.warn("control connection lost: {}", reason);
        restart(reason, null);
    }

    /** Ends the current attempt and schedules the next ({@code delayMs} null: from the backoff). */
    private void restart(String reason, Long delayMs) {
        Attempt a = current;
        if (a.stable()) {
            failures = 0;
        }
        end(a);
        a.stream.cancel(reason);
        listener.disconnected(reason);
        if (closed) {
            return;
        }
        long wait = delayMs != null ? delayMs : backoff.delayMs(failures++, random);
        listener.reconnectScheduled(Duration.ofMillis(wait));
        retryTask = later(this::connect, wait);
    }

    /** Forgets attempt {@code a}: its callbacks are dropped from now on. */
    private void end(Attempt a) {
        current = null;
        connected = false;
        a.stopTimers();
        a.outbox.clear();
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /**
     * Stops reconnecting and ends the stream cleanly, on the loop: what is queued is flushed and
     * the stream half-closed. Completes with the stream whose connection is finishing (null when
     * there was none).
     */
    CompletableFuture<ControlTransport.Stream> stop() {
        var closing = new CompletableFuture<ControlTransport.Stream>();
        try {
            loop.execute(() -> {
                closed = true;
                cancel(retryTask);
                Attempt a = current;
                if (a == null) {
                    closing.complete(null);
                    return;
                }
                a.flush();
                boolean wasUp = a.welcomed;
                end(a);
                a.stream.finish();
                if (wasUp) {
                    listener.disconnected("the daemon is stopping");
                }
                closing.complete(a.stream);
            });
        } catch (RejectedExecutionException e) {
            closing.complete(null); // the loop is gone, and with it every attempt
        }
        return closing;
    }

    /**
     * {@link #stop}, then gives the connection {@code max} to finish what it carries before it is
     * dropped. The wait happens on the calling thread, never on the loop; the loop is the
     * caller's to shut down.
     */
    public void close(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        ControlTransport.Stream stream;
        try {
            stream = stop().get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.debug("close: {}", e.toString());
            return;
        }
        if (stream == null) {
            return;
        }
        try {
            if (!stream.awaitTermination(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                stream.cancel("the daemon is stopping");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stream.cancel("the daemon is stopping");
        }
    }
}
