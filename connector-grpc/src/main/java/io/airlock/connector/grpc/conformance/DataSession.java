package io.airlock.connector.grpc.conformance;

import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.DataFrame;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One Data stream driven by hand; frames from the control plane are counted, the end status kept. */
final class DataSession {
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private final StreamObserver<DataFrame> out;

    DataSession(ManagedChannel channel) {
        this.out = AgentGatewayGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).data(new StreamObserver<>() {
            @Override
            public void onNext(DataFrame frame) {
                // Frames the control plane sends are not needed by any rule; they are read so the stream keeps moving.
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

    synchronized void send(DataFrame frame) {
        out.onNext(frame);
    }

    synchronized void halfClose() {
        out.onCompleted();
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

    synchronized void cancel() {
        if (!ended.isDone()) {
            out.onError(Status.CANCELLED.withDescription("conformance run over").asRuntimeException());
        }
    }
}
