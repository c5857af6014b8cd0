package io.airlock.connector.grpc.conformance;

import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One Control stream driven by hand: what the control plane sends is queued (bounded) for the rules to read. */
final class ControlSession implements AutoCloseable {
    /** More than any rule waits for; past it the control plane is flooding and the run fails on a full queue. */
    private static final int MAX_QUEUED = 10_000;

    private final LinkedBlockingQueue<ControlPlaneMessage> received = new LinkedBlockingQueue<>(MAX_QUEUED);
    /** Commands are kept apart, so that a rule reading Pongs does not swallow one sent meanwhile. */
    private final LinkedBlockingQueue<Command> commands = new LinkedBlockingQueue<>(MAX_QUEUED);
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final StreamObserver<AgentMessage> out;

    ControlSession(ManagedChannel channel) {
        this.out = AgentGatewayGrpc.newStub(channel).control(new StreamObserver<>() {
            @Override
            public void onNext(ControlPlaneMessage message) {
                if (!(message.hasCommand() ? commands.offer(message.getCommand()) : received.offer(message))) {
                    ended.complete(Status.RESOURCE_EXHAUSTED.withDescription("the control plane sent over " + MAX_QUEUED + " messages unread"));
                }
            }

            @Override
            public void onError(Throwable t) {
                ended.complete(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                ended.complete(Status.OK);
            }
        });
    }

    synchronized void send(AgentMessage message) {
        out.onNext(message);
    }

    /** The next message from the control plane, or null when none came within {@code max} (or the stream ended). */
    ControlPlaneMessage next(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            ControlPlaneMessage m = received.poll(50, TimeUnit.MILLISECONDS);
            if (m != null) {
                return m;
            }
            if (ended.isDone() && received.isEmpty()) {
                return null;
            }
        }
        return null;
    }

    /** The next command from the control plane, or null when none came within {@code max}. */
    Command nextCommand(Duration max) throws InterruptedException {
        return commands.poll(max.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The status the control plane ended the stream with, or null when it has not within {@code max}. */
    Status awaitEnd(Duration max) throws InterruptedException {
        try {
            return ended.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            return Status.fromThrowable(e.getCause());
        }
    }

    boolean hasEnded() {
        return ended.isDone();
    }

    @Override
    public synchronized void close() {
        if (!ended.isDone()) {
            out.onCompleted();
        }
    }
}
