package io.airlock.daemon;

import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the daemon has started, closed in reverse order: each stage is registered once it is built
 * whole, so a start that fails halfway closes what came before it, and a stop closes everything,
 * from the same list. A part that fails to close is logged and the rest still close.
 */
final class Closer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Closer.class);

    /** One part's close; may throw anything. */
    @FunctionalInterface
    interface Part {
        void close() throws Exception;
    }

    private record Named(String name, Part part) {}

    private final Deque<Named> parts = new ArrayDeque<>();
    private boolean closed;

    /** Registers {@code part} (ignored when null) to close before everything registered earlier; returns it. */
    synchronized <T extends AutoCloseable> T add(String name, T part) {
        if (part != null) {
            parts.push(new Named(name, part::close));
        }
        return part;
    }

    /** Registers a close action under {@code name}. */
    synchronized void onClose(String name, Part part) {
        parts.push(new Named(name, part));
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        while (!parts.isEmpty()) {
            Named n = parts.pop();
            try {
                n.part().close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                log.warn("closing {} was interrupted", n.name());
            } catch (Exception e) {
                log.warn("closing {} failed: {}", n.name(), e.toString());
            }
        }
    }
}
