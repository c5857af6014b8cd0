package io.airlock.connector.worker;

import io.airlock.core.retry.Backoff;
import java.time.Duration;

/** How this connector paces its retries, as the SDK's helpers do: each step doubles, with equal jitter. */
final class Pacing {
    /** Heartbeats and result posts: 1 s doubling to 30 s. */
    static final Backoff RETRY = Backoff.doubling(Duration.ofSeconds(1), Duration.ofSeconds(30));
    /** Polls that failed: 1 s doubling to 60 s. */
    static final Backoff POLL = Backoff.doubling(Duration.ofSeconds(1), Duration.ofSeconds(60));
    /** A dropped event stream: 250 ms doubling to 10 s. */
    static final Backoff STREAM = Backoff.doubling(Duration.ofMillis(250), Duration.ofSeconds(10));

    private Pacing() {}
}
