package io.airlock.proto.support;

import io.grpc.stub.CallStreamObserver;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Lets a blocking sender wait, with a deadline, until a gRPC stream can take another message,
 * so sending follows the peer's HTTP/2 flow-control window instead of buffering without bound.
 * (grpc-java gives isReady() and an onReady callback; this turns them into a bounded wait.)
 * Register {@link #signal} as the stream's onReady handler and {@link #cancel} for its end.
 */
public final class ReadyGate {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition ready = lock.newCondition();
    private volatile CallStreamObserver<?> stream;
    private volatile boolean cancelled;

    /** A gate for a stream that exists only later (a client call's beforeStart): {@link #attach} it then. */
    public ReadyGate() {}

    public ReadyGate(CallStreamObserver<?> stream) {
        this.stream = stream;
    }

    public void attach(CallStreamObserver<?> stream) {
        this.stream = stream;
    }

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

    /**
     * Returns once the stream takes another message.
     *
     * @throws TimeoutException      the peer took nothing for {@code max}
     * @throws CancellationException the stream ended meanwhile (nothing more can be sent)
     */
    public void awaitReady(Duration max) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + max.toNanos();
        lock.lock();
        try {
            while (stream == null || !stream.isReady()) {
                if (cancelled) {
                    throw new CancellationException("the stream was closed by the peer");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("the peer did not accept data within " + max);
                }
                ready.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }
}
