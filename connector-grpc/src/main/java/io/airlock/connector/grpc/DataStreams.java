package io.airlock.connector.grpc;

import io.airlock.core.work.DataChannel;
import io.airlock.core.work.WorkException;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.DataFrame;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Data streams of the live connection: one per byte-moving command, taken from the streams
 * opened ahead ({@link DataStreamPool}) when one waits, else opened then; none while there is no
 * session. The Control stream's transport tells it when a connection is established and lost.
 */
final class DataStreams {
    /**
     * How much a Data stream's sender may queue beyond what HTTP/2 took before it waits: four
     * 32 KiB frames. grpc-java's default (32 KiB, one frame) made a large transfer wait for a
     * callback after every frame; this bounds each stream's queue at 128 KiB instead.
     */
    static final int ONREADY_THRESHOLD = 128 * 1024;
    /**
     * Data streams opened ahead on the live connection, waiting for commands: a few operations
     * starting at once. The system property is for benchmarks (0 turns it off, for an A/B).
     */
    static final int AHEAD = Integer.getInteger("airlock.dataStreamsAhead", 4);

    /** The session's loop: a claimed stream's command deadline runs there, and the pool is refilled there, off the command's path. */
    private final ScheduledExecutorService loop;
    private final DataStreamPool pool;
    /** The live session's connection; null while there is none. Read from any thread. */
    private volatile ManagedChannel live;

    DataStreams(ScheduledExecutorService loop, int ahead) {
        this.loop = loop;
        this.pool = new DataStreamPool(ahead, ch -> GrpcDataChannel.idle((observer, deadlineMs) -> call(ch, observer, 0)));
    }

    /** A session is up on {@code channel}: streams are opened ahead on it. */
    void established(ManagedChannel channel) {
        live = channel;
        loop.execute(() -> pool.fill(channel));
    }

    /** The connection {@code channel} is going: its idle streams are cancelled, nothing new is opened on it. */
    void lost(ManagedChannel channel) {
        if (live == channel) {
            live = null;
        }
        pool.clear();
    }

    /** The live session's connection for unary calls (certificate renewal), or null when there is none. */
    ManagedChannel live() {
        return live;
    }

    /** A Data stream for command {@code commandId}; fails fast when there is no session. */
    GrpcDataChannel open(String commandId, long deadlineMs, DataChannel.Inbound inbound) throws WorkException {
        ManagedChannel ch = live;
        GrpcDataChannel pooled = pool.take(ch);
        if (pooled == null) {
            return GrpcDataChannel.open(this::call, commandId, deadlineMs, inbound);
        }
        pooled.claim(commandId, inbound);
        try {
            // An idle stream has no gRPC deadline of its own: the command's runs from the claim.
            ScheduledFuture<?> deadline = loop.schedule(pooled::deadlineReached, Math.max(1, deadlineMs - System.currentTimeMillis()),
                    TimeUnit.MILLISECONDS);
            pooled.peerClosed().whenComplete((v, t) -> deadline.cancel(false));
            loop.execute(() -> pool.fill(live));
        } catch (RejectedExecutionException e) {
            pooled.abort("the agent is shutting down");
        }
        return pooled;
    }

    /** Opens a Data call on the live connection ({@code deadlineMs} 0: none), or fails fast when there is none. */
    private ClientCallStreamObserver<DataFrame> call(ClientResponseObserver<DataFrame, DataFrame> observer, long deadlineMs) {
        ManagedChannel ch = live;
        if (ch == null) {
            throw Status.UNAVAILABLE.withDescription("no live connection to the control plane").asRuntimeException();
        }
        return call(ch, observer, deadlineMs);
    }

    private static ClientCallStreamObserver<DataFrame> call(ManagedChannel ch, ClientResponseObserver<DataFrame, DataFrame> observer,
            long deadlineMs) {
        AgentGatewayGrpc.AgentGatewayStub stub = AgentGatewayGrpc.newStub(ch).withOnReadyThreshold(ONREADY_THRESHOLD);
        if (deadlineMs > 0) {
            stub = stub.withDeadlineAfter(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
        }
        return (ClientCallStreamObserver<DataFrame>) stub.data(observer);
    }
}
