package io.airlock.connector.worker;

import java.util.random.RandomGenerator;

/**
 * The connector's one backoff, as the SDK's helpers pace retries: {@code start} doubling to
 * {@code cap}, each delay drawn between half and all of that ("equal jitter"), so that workers
 * that failed together do not retry together. Pure: the caller passes the attempt and the random
 * source, and sleeps on its own clock.
 */
record Backoff(long startMs, long capMs) {
    /** Heartbeats and result posts: 1 s doubling to 30 s. */
    static final Backoff RETRY = new Backoff(1_000, 30_000);
    /** Polls that failed: 1 s doubling to 60 s. */
    static final Backoff POLL = new Backoff(1_000, 60_000);
    /** A dropped event stream: 250 ms doubling to 10 s. */
    static final Backoff STREAM = new Backoff(250, 10_000);

    /** The undrawn delay of attempt {@code attempt} (0 first). */
    long ceilingMs(int attempt) {
        return Math.min(startMs << Math.min(Math.max(attempt, 0), 30), capMs);
    }

    /** The delay before attempt {@code attempt + 1}: between half and all of {@link #ceilingMs}. */
    long delayMs(int attempt, RandomGenerator random) {
        long ceiling = ceilingMs(attempt);
        return ceiling / 2 + random.nextLong(ceiling / 2 + 1);
    }
}
