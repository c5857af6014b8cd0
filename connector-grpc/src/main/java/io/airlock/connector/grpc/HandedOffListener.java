package io.airlock.connector.grpc;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a listener of connection changes on a thread of its own, in order, so the session's
 * loop never waits for what listeners do (an audit record's fsync, closing MCP sessions
 * upstream). Bounded: connection changes come at most once per backoff step, so a full queue
 * means the listener is stuck; the event is then dropped and logged.
 */
final class HandedOffListener implements ConnectionListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HandedOffListener.class);
    static final int MAX_WAITING = 256;
    private final ConnectionListener target;
    private final ThreadPoolExecutor thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(MAX_WAITING),
            Thread.ofVirtual().name("connection-events").factory(),
            (task, pool) -> log.warn("connection listeners are stuck: {} events waiting; one dropped", MAX_WAITING));

    HandedOffListener(ConnectionListener target) {
        this.target = target;
    }

    private void later(String event, Runnable call) {
        thread.execute(() -> {
            try {
                call.run();
            } catch (RuntimeException e) {
                log.warn("a connection listener failed on {}: {}", event, e.toString());
            }
        });
    }

    @Override
    public void connected(String sessionId) {
        later("connected", () -> target.connected(sessionId));
    }

    @Override
    public void disconnected(String reason) {
        later("disconnected", () -> target.disconnected(reason));
    }

    @Override
    public void reconnectScheduled(Duration delay) {
        later("reconnect", () -> target.reconnectScheduled(delay));
    }

    @Override
    public void serverDraining(String reason) {
        later("drain", () -> target.serverDraining(reason));
    }

    /** Delivers what is waiting (at most {@code max}), then stops. */
    void close(Duration max) {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(max.toMillis(), TimeUnit.MILLISECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(1));
    }
}
