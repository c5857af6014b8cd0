package io.airlock.connector.grpc;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Time that moves only when a test says so, and a scheduler on it: tasks run on the test's
 * thread, in due order, when {@link #forward} reaches them ({@link #runDue} for those due now).
 * A state machine given both runs milliseconds of test for minutes of its life.
 */
final class FakeClock {
    private long nanos = 1_000_000_000L;
    private long seq;
    private final PriorityQueue<Task> tasks = new PriorityQueue<>(
            (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.order, b.order));
    final ScheduledExecutorService scheduler = new Scheduler();

    long nanoTime() {
        return nanos;
    }

    /** Runs every task due now (and what they make due now). */
    void runDue() {
        forward(Duration.ZERO);
    }

    /** Moves time forward by {@code d}, running each task as its time comes. */
    void forward(Duration d) {
        long target = nanos + d.toNanos();
        while (true) {
            Task next = tasks.peek();
            if (next == null || next.due > target) {
                break;
            }
            tasks.poll();
            nanos = Math.max(nanos, next.due);
            if (!next.cancelled) {
                next.run();
            }
        }
        nanos = target;
    }

    void forwardMs(long ms) {
        forward(Duration.ofMillis(ms));
    }

    /** Tasks waiting (not cancelled). */
    int pending() {
        return (int) tasks.stream().filter(t -> !t.cancelled).count();
    }

    private final class Task implements ScheduledFuture<Void> {
        final Runnable body;
        final long period;
        final long order = seq++;
        long due;
        boolean cancelled;
        boolean done;

        Task(Runnable body, long due, long period) {
            this.body = body;
            this.due = due;
            this.period = period;
        }

        void run() {
            body.run();
            if (period > 0 && !cancelled) {
                due += period;
                tasks.add(this);
            } else {
                done = true;
            }
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - nanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterrupt) {
            boolean was = !cancelled && !done;
            cancelled = true;
            return was;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Void get() {
            throw new UnsupportedOperationException("a fake clock's task is not waited for");
        }

        @Override
        public Void get(long timeout, TimeUnit unit) {
            throw new UnsupportedOperationException("a fake clock's task is not waited for");
        }
    }

    private final class Scheduler extends AbstractExecutorService implements ScheduledExecutorService {
        private boolean shutdown;

        private Task add(Runnable body, long delay, TimeUnit unit, long period) {
            if (shutdown) {
                throw new java.util.concurrent.RejectedExecutionException("the fake scheduler is shut down");
            }
            Task t = new Task(body, nanos + Math.max(0, unit.toNanos(delay)), unit.toNanos(period));
            tasks.add(t);
            return t;
        }

        @Override
        public void execute(Runnable command) {
            add(command, 0, TimeUnit.NANOSECONDS, 0);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            return add(command, delay, unit, 0);
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            throw new UnsupportedOperationException("not used by the code under test");
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
            return add(command, initialDelay, unit, Math.max(1, period));
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            return add(command, initialDelay, unit, Math.max(1, delay));
        }

        @Override
        public void shutdown() {
            shutdown = true;
        }

        @Override
        public List<Runnable> shutdownNow() {
            shutdown = true;
            List<Runnable> left = new ArrayList<>(tasks.stream().map(t -> t.body).toList());
            tasks.clear();
            return left;
        }

        @Override
        public boolean isShutdown() {
            return shutdown;
        }

        @Override
        public boolean isTerminated() {
            return shutdown && tasks.isEmpty();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return isTerminated();
        }

        @Override
        public <T> List<java.util.concurrent.Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) {
            throw new UnsupportedOperationException("not used by the code under test");
        }
    }
}
