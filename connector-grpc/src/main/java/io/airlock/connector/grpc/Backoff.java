package io.airlock.connector.grpc;

import io.airlock.core.config.DaemonConfig;
import java.time.Duration;
import java.util.random.RandomGenerator;

/** Capped exponential backoff with jitter; {@link #reset()} after a stable connection. Not thread-safe. */
final class Backoff {
    private final DaemonConfig.Backoff config;
    private final RandomGenerator random;
    private double nextMillis;

    Backoff(DaemonConfig.Backoff config, RandomGenerator random) {
        this.config = config;
        this.random = random;
        reset();
    }

    void reset() {
        nextMillis = config.initial().toMillis();
    }

    Duration next() {
        double base = nextMillis;
        nextMillis = Math.min(config.max().toMillis(), nextMillis * config.multiplier());
        double spread = base * config.jitter();
        double jittered = base - spread + random.nextDouble() * 2 * spread;
        return Duration.ofMillis(Math.max(0, Math.round(Math.min(jittered, config.max().toMillis()))));
    }
}
