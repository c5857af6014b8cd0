package io.airlock.driver.docker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Optional;
import java.util.concurrent.Callable;
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

    private final int size;
    private final Callable<String> create;
    private final ArrayDeque<String> idle = new ArrayDeque<>();
    private final Thread refiller;
    private volatile boolean closed;

    /** @param create makes and starts one pool container, returning its name */
    WarmPool(int size, Callable<String> create, Collection<String> adopted) {
        this.size = size;
        this.create = create;
        idle.addAll(adopted);
        this.refiller = Thread.ofVirtual().name("docker-warm-pool").start(this::refill);
    }

    synchronized Optional<String> claim() {
        Optional<String> c = Optional.ofNullable(idle.poll());
        notifyAll();
        return c;
    }

    synchronized int idle() {
        return idle.size();
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
                String name = create.call();
                synchronized (this) {
                    idle.add(name);
                }
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                log.warn("warm pool refill failed ({}); retrying in {}", e.getMessage(), RETRY);
                try {
                    Thread.sleep(RETRY);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Stops refilling; waits (bounded) for a refill in flight, so nothing is created after close. */
    @Override
    public void close() {
        closed = true;
        refiller.interrupt();
        try {
            refiller.join(Duration.ofSeconds(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
