package io.airlock.core.sandbox;

import io.airlock.driver.DriverException;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxState;
import io.airlock.notation.Durations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Destroys sandboxes the local policy no longer allows: older than {@code policy.max_lifetime}
 * (even while busy: a lifetime is a promise to the operator), or unused for
 * {@code policy.idle_timeout} (never while a command runs in them, nor while they are paused:
 * pausing is how a caller says "keep it").
 */
public final class SandboxReaper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SandboxReaper.class);

    private final SandboxService sandboxes;
    private final Duration maxLifetime;
    private final Duration idleTimeout;
    private final Clock clock;
    private final Thread thread;
    private volatile boolean closed;
    /** Sandboxes whose owner was asked to end them, and when: destroyed here if still there after {@link #OWNER_GRACE}. */
    private final Map<String, Instant> asked = new ConcurrentHashMap<>();
    /** How long an owner may take to save what the sandbox holds and hand its work back. */
    static final Duration OWNER_GRACE = Duration.ofSeconds(60);

    /** @param maxLifetime null for none; @param idleTimeout null for none */
    public SandboxReaper(SandboxService sandboxes, Duration maxLifetime, Duration idleTimeout, Clock clock) {
        this.sandboxes = sandboxes;
        this.maxLifetime = maxLifetime;
        this.idleTimeout = idleTimeout;
        this.clock = clock;
        Duration shortest = maxLifetime == null ? idleTimeout : idleTimeout == null ? maxLifetime
                : (maxLifetime.compareTo(idleTimeout) < 0 ? maxLifetime : idleTimeout);
        // Check a few times per period, but not busily and not too rarely.
        long periodMs = Math.max(200, Math.min(30_000, shortest.toMillis() / 4));
        this.thread = Thread.ofVirtual().name("sandbox-reaper").start(() -> loop(periodMs));
    }

    /** A reaper when the policy sets a limit, else null. */
    public static SandboxReaper startIfNeeded(SandboxService sandboxes, Duration maxLifetime, Duration idleTimeout) {
        return maxLifetime == null && idleTimeout == null ? null : new SandboxReaper(sandboxes, maxLifetime, idleTimeout, Clock.systemUTC());
    }

    private void loop(long periodMs) {
        while (!closed) {
            try {
                Thread.sleep(periodMs);
            } catch (InterruptedException e) {
                return;
            }
            sweep();
        }
    }

    void sweep() {
        Instant now = clock.instant();
        List<Sandbox> live = sandboxes.list();
        asked.keySet().retainAll(live.stream().map(Sandbox::id).toList()); // the owner destroyed them
        for (Sandbox s : live) {
            String reason = null;
            if (maxLifetime != null && s.createdAt().plus(maxLifetime).isBefore(now)) {
                reason = "reaped: older than policy.max_lifetime (" + Durations.format(maxLifetime) + ")";
            } else if (idleTimeout != null && s.state() != SandboxState.PAUSED
                    && sandboxes.idleFor(s.id()).compareTo(idleTimeout) > 0) {
                reason = "reaped: unused for longer than policy.idle_timeout (" + Durations.format(idleTimeout) + ")";
            }
            if (reason != null) {
                Instant first = asked.get(s.id());
                if (first == null && sandboxes.askOwner(s.id(), reason)) {
                    asked.put(s.id(), now);
                    log.info("sandbox {} {}; its owner ends its work first", s.id(), reason);
                    continue;
                }
                if (first != null && first.plus(OWNER_GRACE).isAfter(now)) {
                    continue;
                }
                try {
                    log.info("sandbox {} {}", s.id(), reason);
                    asked.remove(s.id());
                    sandboxes.destroy(s.id(), reason);
                } catch (DriverException e) {
                    log.warn("could not reap sandbox {}: {}", s.id(), e.getMessage());
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
