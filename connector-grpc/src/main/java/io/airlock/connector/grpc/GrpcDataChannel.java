package io.airlock.connector.grpc;

import io.airlock.core.work.DataChannel;
import io.airlock.core.work.Frame;
import io.airlock.core.work.WorkError;
import io.airlock.core.work.WorkException;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DataOpen;
import io.airlock.proto.support.ReadyGate;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One work's Data stream: opened with DataOpen naming the command; sending waits for the
 * stream's HTTP/2 window; inbound frames are asked for one at a time, the next only after the
 * core handled the previous one. A stream may be opened ahead of its command
 * ({@link DataStreamPool}) and claimed later; the command's deadline then runs from the claim.
 */
final class GrpcDataChannel implements DataChannel, ClientResponseObserver<DataFrame, DataFrame> {
    private static final Logger log = LoggerFactory.getLogger(GrpcDataChannel.class);

    private final ReadyGate gate = new ReadyGate();
    private final CompletableFuture<Void> peerClosed = new CompletableFuture<>();
    /** Set at the claim, before DataOpen goes: nothing comes in before the control plane knows the command. */
    private volatile Inbound inbound;
    /** The command's deadline passed (a claimed idle stream has no gRPC deadline of its own). */
    private volatile boolean deadlineReached;
    private ClientCallStreamObserver<DataFrame> out;

    private GrpcDataChannel() {}

    /** Starts a Data call; {@code deadlineMs} 0: none (an idle stream, the deadline set at its claim). */
    @FunctionalInterface
    interface Calls {
        ClientCallStreamObserver<DataFrame> open(ClientResponseObserver<DataFrame, DataFrame> observer, long deadlineMs);
    }

    /** Opens a stream for a command now ({@link DataStreams#open}). */
    static GrpcDataChannel open(Calls calls, String commandId, long deadlineMs, Inbound inbound) throws WorkException {
        GrpcDataChannel channel = new GrpcDataChannel();
        try {
            calls.open(channel, deadlineMs);
        } catch (StatusRuntimeException e) {
            throw new WorkException(WorkError.UNAVAILABLE, "cannot open a data stream: " + e.getStatus().getDescription());
        }
        channel.claim(commandId, inbound);
        return channel;
    }

    /** Opens a stream ahead of any command, for {@link #claim} later. */
    static GrpcDataChannel idle(Calls calls) {
        GrpcDataChannel channel = new GrpcDataChannel();
        calls.open(channel, 0);
        return channel;
    }

    /** Gives the stream to a command: its frames go to {@code inbound} from now on, and DataOpen names it. */
    void claim(String commandId, Inbound inbound) {
        this.inbound = inbound;
        write(DataFrame.newBuilder().setOpen(DataOpen.newBuilder().setCommandId(commandId)).build());
    }

    /** The command's deadline passed: the stream is cancelled, and its end says so. */
    void deadlineReached() {
        if (!peerClosed.isDone()) {
            deadlineReached = true;
            abort("the command deadline passed");
        }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<DataFrame> requests) {
        this.out = requests;
        gate.attach(requests);
        requests.disableAutoRequestWithInitial(1);
        requests.setOnReadyHandler(gate::signal);
    }

    private synchronized void write(DataFrame frame) {
        out.onNext(frame);
    }

    @Override
    public void send(Frame frame, Duration max) throws InterruptedException, TimeoutException {
        gate.awaitReady(max);
        write(ProtoCodec.outbound(frame));
    }

    @Override
    public void sendNow(Frame frame) {
        write(ProtoCodec.outbound(frame));
    }

    @Override
    public synchronized void finish() {
        out.onCompleted();
    }

    @Override
    public synchronized void abort(String why) {
        out.cancel(why, null);
    }

    @Override
    public CompletableFuture<Void> peerClosed() {
        return peerClosed;
    }

    @Override
    public void onNext(DataFrame frame) {
        try {
            Frame decoded = ProtoCodec.inbound(frame);
            if (decoded == null) {
                throw new IllegalArgumentException("unexpected frame " + frame.getBodyCase() + " (only the agent sends those)");
            }
            Inbound to = inbound;
            if (to == null) {
                throw new IllegalArgumentException("a frame before the agent named the stream's command (DataOpen)");
            }
            to.accept(decoded);
            out.request(1);
        } catch (Exception e) {
            log.info("data stream frame failed: {}", e.toString());
            abort("the agent could not handle a frame: " + e.getMessage());
            peerClosed.completeExceptionally(e);
        }
    }

    @Override
    public void onError(Throwable t) {
        gate.cancel();
        Status.Code code = deadlineReached ? Status.Code.DEADLINE_EXCEEDED
                : t instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
        peerClosed.completeExceptionally(switch (code) {
            case DEADLINE_EXCEEDED -> new WorkException(WorkError.DEADLINE_EXCEEDED, "the data stream did not finish before the command deadline");
            // Our own channel refused a frame over its limit: the control plane's mistake, said as such.
            case RESOURCE_EXHAUSTED -> new WorkException(WorkError.RESOURCE_EXHAUSTED, "the control plane sent a Data frame over the "
                    + "protocol's 4 MiB message limit (" + Status.fromThrowable(t).getDescription() + "); send chunks of at most 32 KiB");
            default -> t;
        });
    }

    @Override
    public void onCompleted() {
        gate.cancel();
        peerClosed.complete(null);
    }
}
