package io.airlock.connector.grpc;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.work.AgentEvent;
import io.airlock.core.work.Connector;
import io.airlock.core.work.DataChannel;
import io.airlock.core.work.Outcome;
import io.airlock.core.work.WorkException;
import io.airlock.core.work.WorkRunner;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.Hello;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The airlock.v1 connector: commands from the Control stream are decoded once and handed to the
 * work runner; outcomes and events go back as CommandResult and Event messages; byte-moving work
 * gets a Data stream each. It owns the session's loop (one thread), the Control session over
 * the gRPC transport, and the Data streams of the live connection.
 */
public final class GrpcConnector implements Connector, AutoCloseable {
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "airlock-control");
        t.setDaemon(true);
        return t;
    });
    private final DataStreams data = new DataStreams(loop, DataStreams.AHEAD);
    private final HandedOffListener listener;
    private final ControlSession session;

    /**
     * @param channels    a new channel to the control plane for each connection attempt
     * @param auditAnchor the newest audit record on disk, sent with every Ping for the control plane
     *                    to keep outside this host (null: none yet); must not wait on the audit log
     */
    public GrpcConnector(WorkRunner runner, DaemonConfig.ControlPlane config, Supplier<ManagedChannel> channels, Supplier<Hello> hello,
            Supplier<AuditAnchor> auditAnchor, ConnectionListener listener) {
        this.listener = new HandedOffListener(listener);
        this.session = new ControlSession(config, new GrpcControlTransport(channels, data), loop, System::nanoTime,
                new SplittableRandom(), hello, auditAnchor, new ControlSession.CommandSink() {
                    @Override
                    public void onCommand(Command command) {
                        runner.submit(ProtoCodec.work(command), GrpcConnector.this);
                    }

                    @Override
                    public int inFlight() {
                        return runner.inFlight();
                    }
                }, this.listener);
    }

    public void start() {
        session.start();
    }

    /** Tells the control plane we are draining (first SIGTERM). */
    public void sendDrainNotice(String reason, long graceDeadlineMs) {
        session.sendDrainNotice(reason, graceDeadlineMs);
    }

    /** True while a session is up (Welcome received). */
    public boolean isConnected() {
        return session.isConnected();
    }

    /** The live session's channel for unary calls (certificate renewal), or null when there is none. */
    public ManagedChannel liveChannel() {
        return data.live();
    }

    @Override
    public void reply(String workId, Outcome outcome) {
        session.send(AgentMessage.newBuilder().setResult(ProtoCodec.result(workId, outcome)).build());
    }

    @Override
    public void event(AgentEvent event) {
        session.send(AgentMessage.newBuilder().setEvent(ProtoCodec.event(event)).build());
    }

    @Override
    public DataChannel openData(String workId, long deadlineMs, DataChannel.Inbound inbound) throws WorkException {
        return data.open(workId, deadlineMs, inbound);
    }

    /** Closes the stream cleanly (what is queued first, the connection given {@code max}) and stops reconnecting. */
    public void close(Duration max) {
        session.close(max);
        loop.shutdownNow();
        listener.close();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }
}
