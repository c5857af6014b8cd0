package io.airlock.connector.grpc;

import io.grpc.stub.CallStreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lets a blocking sender wait, with a deadline, until a gRPC stream can take another message,
 * so sending follows the peer's HTTP/2 flow-control window instead of buffering without bound.
 * (grpc-java gives isReady() and an onReady callback; this turns them into a bounded wait.)
 */
public final class ReadyGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private volatile CallStreamObserver<?> stream;
    private volatile boolean cancelled;

    public void attach(CallStreamObserver<?> stream) {
        this.stream = stream;
    }

    /** Use as the stream's onReady handler. */
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
            while (stream == null || !stream.isReady()) {
                if (cancelled) {
                    throw new TimeoutException("the stream was closed");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("the control plane did not accept data within " + max);
                }
                ready.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }
}
