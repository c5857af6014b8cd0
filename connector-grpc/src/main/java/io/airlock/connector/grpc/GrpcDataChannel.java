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
 * core handled the previous one.
 */
final class GrpcDataChannel implements DataChannel, ClientResponseObserver<DataFrame, DataFrame> {
    private static final Logger log = LoggerFactory.getLogger(GrpcDataChannel.class);

    private final ReadyGate gate = new ReadyGate();
    private final CompletableFuture<Void> peerClosed = new CompletableFuture<>();
    private final Inbound inbound;
    private ClientCallStreamObserver<DataFrame> out;

    private GrpcDataChannel(Inbound inbound) {
        this.inbound = inbound;
    }

    /** Starts a Data call on the live connection ({@link ControlConnection#openData}). */
    @FunctionalInterface
    interface Calls {
        ClientCallStreamObserver<DataFrame> open(ClientResponseObserver<DataFrame, DataFrame> observer, long deadlineMs);
    }

    static GrpcDataChannel open(Calls calls, String commandId, long deadlineMs, Inbound inbound) throws WorkException {
        GrpcDataChannel channel = new GrpcDataChannel(inbound);
        try {
            calls.open(channel, deadlineMs);
        } catch (StatusRuntimeException e) {
            throw new WorkException(WorkError.UNAVAILABLE, "cannot open a data stream: " + e.getStatus().getDescription());
        }
        channel.write(DataFrame.newBuilder().setOpen(DataOpen.newBuilder().setCommandId(commandId)).build());
        return channel;
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
            inbound.accept(decoded);
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
        Status.Code code = t instanceof StatusRuntimeException s ? s.getStatus().getCode() : Status.Code.UNKNOWN;
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
