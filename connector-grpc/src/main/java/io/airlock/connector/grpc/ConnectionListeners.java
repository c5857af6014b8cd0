package io.airlock.connector.grpc;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passes every connection event to each listener added, so listeners can come and go at run
 * time. A listener that throws is logged and skipped: observers (audit, metrics, systemd) must
 * never break the connection they observe.
 */
public final class ConnectionListeners implements ConnectionListener {
    private static final Logger log = LoggerFactory.getLogger(ConnectionListeners.class);
    private final List<ConnectionListener> listeners = new CopyOnWriteArrayList<>();

    public void add(ConnectionListener listener) {
        listeners.add(listener);
    }

    private void each(String event, Consumer<ConnectionListener> call) {
        for (ConnectionListener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                log.warn("a connection listener failed on {}: {}", event, e.toString());
            }
        }
    }

    @Override
    public void connected(String sessionId) {
        each("connected", l -> l.connected(sessionId));
    }

    @Override
    public void disconnected(String reason) {
        each("disconnected", l -> l.disconnected(reason));
    }

    @Override
    public void reconnectScheduled(Duration delay) {
        each("reconnect", l -> l.reconnectScheduled(delay));
    }

    @Override
    public void serverDraining(String reason) {
        each("drain", l -> l.serverDraining(reason));
    }
}
