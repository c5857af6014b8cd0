package io.airlock.controlplane.gateway;

import io.grpc.stub.CallStreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lets a blocking sender wait until a gRPC stream can take another message, so sending
 * respects the peer's HTTP/2 flow-control window instead of buffering without bound.
 * (grpc-java offers isReady() and an onReady callback; this turns them into a wait with a deadline.)
 */
public final class ReadyGate {
    private final CallStreamObserver<?> stream;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private volatile boolean cancelled;

    public ReadyGate(CallStreamObserver<?> stream) {
        this.stream = stream;
    }

    /** Register as the stream's onReady handler. */
    public void signal() {
        lock.lock();
        try {
            ready.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public void cancel() {
        cancelled = true;
        signal();
    }

    public void awaitReady(Duration max) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + max.toNanos();
        lock.lock();
        try {
            while (!stream.isReady()) {
                if (cancelled) {
                    throw new IllegalStateException("stream cancelled");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("peer did not accept data within " + max);
                }
                ready.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }
}
