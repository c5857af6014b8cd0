package io.airlock.driver.docker;

import io.airlock.driver.ResourceLimits;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Iterator;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idle, already started containers of the default image, claimed by provisions and refilled in
 * the background up to {@code size}. A failed refill waits {@link #RETRY} before the next try,
 * so a broken engine is not hammered.
 */
final class WarmPool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WarmPool.class);
    static final Duration RETRY = Duration.ofSeconds(5);
    static final Duration QUIET = Duration.ofMillis(300);

    /**
     * One idle container: the limits it was created with, and its launcher for the first command
     * (null when it has none, e.g. after an engine restart).
     */
    record Warm(String container, ResourceLimits limits, Launcher launcher) {}

    private final int size;
    private final Callable<Warm> create;
    private final ArrayDeque<Warm> idle = new ArrayDeque<>();
    private final Thread refiller;
    private volatile boolean closed;

    /** @param create makes and starts one pool container */
    WarmPool(int size, Callable<Warm> create, Collection<Warm> adopted) {
        this.size = size;
        this.create = create;
        idle.addAll(adopted);
        this.refiller = Thread.ofVirtual().name("docker-warm-pool").start(this::refill);
    }

    /**
     * An idle container that can become a sandbox with {@code wanted}: one with exactly those
     * limits if there is one (nothing to update), else one whose CPU-time and workspace limits
     * match (a ulimit and a volume cannot change under a running container; memory and pids can).
     */
    synchronized Optional<Warm> claim(ResourceLimits wanted) {
        Warm pick = idle.stream().filter(w -> w.limits().equals(wanted)).findFirst()
                .or(() -> idle.stream().filter(w -> w.limits().cpuSeconds() == wanted.cpuSeconds()
                        && w.limits().workspaceBytes() == wanted.workspaceBytes()).findFirst()).orElse(null);
        if (pick != null) {
            idle.remove(pick);
            notifyAll();
        }
        return Optional.ofNullable(pick);
    }

    synchronized int idle() {
        return idle.size();
    }

    synchronized boolean isIdle(String container) {
        return idle.stream().anyMatch(w -> w.container().equals(container));
    }

    /** After an engine restart every exec is gone: idle containers lose the launchers that {@code dead} says are gone. */
    synchronized void dropLaunchers(Predicate<Launcher> dead) {
        ArrayDeque<Warm> kept = new ArrayDeque<>();
        for (Iterator<Warm> it = idle.iterator(); it.hasNext(); ) {
            Warm w = it.next();
            if (w.launcher() != null && dead.test(w.launcher())) {
                w.launcher().close();
                kept.add(new Warm(w.container(), w.limits(), null));
            } else {
                kept.add(w);
            }
        }
        idle.clear();
        idle.addAll(kept);
    }

    private void refill() {
        while (!closed) {
            synchronized (this) {
                while (!closed && idle.size() >= size) {
                    try {
                        wait(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
            if (closed) {
                return;
            }
            try {
                // A claim is usually followed at once by the sandbox's first command: let that run
                // before a container start competes with it for the CPU.
                if (!pause(QUIET)) {
                    return;
                }
                Warm warm = create.call();
                synchronized (this) {
                    idle.add(warm);
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                log.warn("warm pool refill failed ({}); retrying in {}", e.getMessage(), RETRY);
                try {
                    if (!pause(RETRY)) {
                        return;
                    }
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Waits {@code d} unless closed meanwhile; false when closed. */
    private synchronized boolean pause(Duration d) throws InterruptedException {
        long until = System.nanoTime() + d.toNanos();
        while (!closed && System.nanoTime() < until) {
            wait(Math.max(1, (until - System.nanoTime()) / 1_000_000));
        }
        return !closed;
    }

    /**
     * Stops refilling; waits (bounded) for a refill in flight to finish, so nothing is created
     * after close and nothing is left half-made (an interrupt would cut the engine request short
     * while the engine carries on). Idle containers stay (adopted on the next start).
     */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        try {
            if (!refiller.join(Duration.ofSeconds(30))) {
                log.warn("a warm-pool refill is still running after 30 s; interrupting it");
                refiller.interrupt();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            idle.stream().filter(w -> w.launcher() != null).forEach(w -> w.launcher().close());
        }
    }
}
