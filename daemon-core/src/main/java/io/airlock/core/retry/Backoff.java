package io.airlock.core.retry;

import io.airlock.core.config.DaemonConfig;
import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Capped exponential backoff with jitter, the one every retry in the daemon uses (the Control
 * stream's reconnects, the work-queue connector's polls, heartbeats, result posts and event
 * streams). Attempt {@code n} (0 first) has the ceiling {@code initial * multiplier^n}, capped at
 * {@code max}; its delay is drawn between {@code (1 - jitter)} and all of that ceiling, so agents
 * that failed together do not retry together, and no delay exceeds {@code max}. With jitter 0.5
 * that is "equal jitter", as the platform SDK's helpers pace retries.
 *
 * <p>Pure: the caller counts attempts, passes the random source and waits on its own clock, so a
 * state machine using it is tested with a fake clock and a seeded random.
 */
public record Backoff(long initialMs, long maxMs, double multiplier, double jitter) {
    public Backoff {
        if (initialMs < 0 || maxMs < initialMs) {
            throw new IllegalArgumentException("backoff: initial " + initialMs + " ms, max " + maxMs + " ms (expected: 0 <= initial <= max)");
        }
        if (multiplier < 1.0) {
            throw new IllegalArgumentException("backoff multiplier: " + multiplier + " (expected: >= 1.0)");
        }
        if (jitter < 0 || jitter > 1) {
            throw new IllegalArgumentException("backoff jitter: " + jitter + " (expected: >= 0.0 and <= 1.0)");
        }
    }

    /** {@code initial} doubling to {@code max}, with equal jitter (half to all of each step). */
    public static Backoff doubling(Duration initial, Duration max) {
        return new Backoff(initial.toMillis(), max.toMillis(), 2.0, 0.5);
    }

    /** The Control stream's reconnect pacing from {@code control_plane.backoff}. */
    public static Backoff of(DaemonConfig.Backoff config) {
        return new Backoff(config.initial().toMillis(), config.max().toMillis(), config.multiplier(), config.jitter());
    }

    /** The undrawn delay of attempt {@code attempt} (0 first); no overflow, however many attempts. */
    public long ceilingMs(int attempt) {
        double ceiling = initialMs * Math.pow(multiplier, Math.max(attempt, 0));
        return (long) Math.min(ceiling, maxMs);
    }

    /** The delay before retrying after attempt {@code attempt} failed: within [(1 - jitter), 1] of its ceiling. */
    public long delayMs(int attempt, RandomGenerator random) {
        long ceiling = ceilingMs(attempt);
        return ceiling - Math.round(ceiling * jitter * random.nextDouble());
    }
}
