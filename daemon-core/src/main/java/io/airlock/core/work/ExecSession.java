package io.airlock.core.work;

import io.airlock.driver.Execution;
import io.airlock.driver.OutputChunk;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One exec's output between the process and whichever data channel is attached. Output goes into
 * a replay window of {@code retainBytes}; a sender drains it to the attached stream. When the
 * stream breaks the exec carries on detached: unsent output waits (holding the process back
 * through its pipe once the window is full) until the control plane re-attaches from a sequence
 * number, or until {@code detachGrace} passes and the process is killed.
 */
final class ExecSession {
    private static final Logger log = LoggerFactory.getLogger(ExecSession.class);

    /** Where output goes: the current data channel. */
    interface Sink {
        void send(Frame.Output frame, Duration max) throws InterruptedException, TimeoutException;

        void finish();
    }

    private final String commandId;
    private final long retainBytes;
    private final Duration detachGrace;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<OutputChunk> window = new ArrayDeque<>();
    private final CompletableFuture<Void> delivered = new CompletableFuture<>();
    private long windowBytes;
    private long nextToSend = 1;
    private long lastSeq;
    private boolean outputEnded;
    private Sink sink;
    private long detachedSinceNanos = System.nanoTime();
    private Execution execution;

    ExecSession(String commandId, long retainBytes, Duration detachGrace) {
        this.commandId = commandId;
        this.retainBytes = retainBytes;
        this.detachGrace = detachGrace;
        Thread.ofVirtual().name("exec-sender-" + commandId).start(this::sendLoop);
    }

    void execution(Execution execution) {
        this.execution = execution;
    }

    Execution execution() {
        return execution;
    }

    String commandId() {
        return commandId;
    }

    /** The Execution's listener: keeps the chunk, waiting while the window is full of unsent output. */
    void onOutput(OutputChunk chunk) throws InterruptedException {
        lock.lock();
        try {
            while (windowBytes >= retainBytes && oldestUnsent()) {
                changed.await(100, TimeUnit.MILLISECONDS);
                killIfDetachedTooLong();
            }
            window.addLast(chunk);
            windowBytes += chunk.data().length;
            lastSeq = chunk.seq();
            // Drop replayable (already sent) chunks beyond the window.
            while (windowBytes > retainBytes && !window.isEmpty() && window.peekFirst().seq() < nextToSend) {
                windowBytes -= window.pollFirst().data().length;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private boolean oldestUnsent() {
        return !window.isEmpty() && window.peekFirst().seq() >= nextToSend;
    }

    /** The process ended and all its output was handed over. */
    void outputEnded() {
        lock.lock();
        try {
            outputEnded = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Attaches a (new) data channel, replaying from {@code fromSeq} (what the window still holds). */
    void attach(Sink newSink, long fromSeq) {
        lock.lock();
        try {
            sink = newSink;
            long oldest = window.isEmpty() ? lastSeq + 1 : window.peekFirst().seq();
            nextToSend = Math.max(Math.max(1, fromSeq), Math.min(oldest, nextToSend));
            if (fromSeq > 0 && fromSeq < oldest) {
                log.info("exec {}: re-attached from seq {}, but the window starts at {}; earlier output is gone", commandId, fromSeq, oldest);
                nextToSend = oldest;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** The stream broke: keep running, close stdin (no one can send more), wait for a re-attach. */
    void detach(Sink broken) {
        lock.lock();
        try {
            if (sink != broken) {
                return;
            }
            sink = null;
            detachedSinceNanos = System.nanoTime();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (execution != null) {
            try {
                execution.stdin().close();
            } catch (IOException e) {
                log.debug("closing stdin of a detached exec: {}", e.toString());
            }
        }
        log.info("exec {} detached from its data stream; it keeps running for up to {} awaiting a re-attach", commandId, detachGrace);
    }

    /** Completes once all output reached an attached stream (or the detach grace ran out). */
    CompletableFuture<Void> delivered() {
        return delivered;
    }

    private void killIfDetachedTooLong() {
        if (sink == null && System.nanoTime() - detachedSinceNanos > detachGrace.toNanos() && execution != null) {
            log.warn("exec {}: no re-attach within {}; killing it", commandId, detachGrace);
            execution.kill();
            outputEnded = true;
            delivered.complete(null);
        }
    }

    private void sendLoop() {
        while (true) {
            OutputChunk next = null;
            Sink target;
            lock.lock();
            try {
                while (true) {
                    if (delivered.isDone()) {
                        return;
                    }
                    target = sink;
                    next = target == null ? null : chunkAt(nextToSend);
                    if (next != null) {
                        break;
                    }
                    if (target != null && outputEnded && nextToSend > lastSeq) {
                        target.finish();
                        delivered.complete(null);
                        return;
                    }
                    if (target == null && outputEnded) {
                        killIfDetachedTooLong();
                    }
                    changed.await(100, TimeUnit.MILLISECONDS);
                    if (target == null) {
                        killIfDetachedTooLong();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            try {
                target.send(frame(next), Duration.ofMinutes(5));
                lock.lock();
                try {
                    if (sink == target && nextToSend == next.seq()) {
                        nextToSend = next.seq() + 1;
                        changed.signalAll();
                    }
                } finally {
                    lock.unlock();
                }
            } catch (InterruptedException e) {
                return;
            } catch (TimeoutException | RuntimeException e) {
                detach(target);
            }
        }
    }

    private OutputChunk chunkAt(long seq) {
        for (OutputChunk c : window) {
            if (c.seq() == seq) {
                return c;
            }
        }
        return null;
    }

    private static Frame.Output frame(OutputChunk chunk) {
        return new Frame.Output(chunk.seq(), chunk.stream() == OutputChunk.Stream.STDERR, chunk.data());
    }

    /** Waits for the delivery of all output (bounded). */
    void awaitDelivered(Duration max) throws InterruptedException {
        try {
            delivered.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            log.warn("exec {}: output not delivered within {}", commandId, max);
        }
    }

    /** Ends the session whatever its state (the sender thread exits). */
    void close() {
        lock.lock();
        try {
            delivered.complete(null);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    OutputStream stdin() {
        return execution.stdin();
    }
}
