package io.airlock.daemon.connector;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Passes every connection event to each listener added, so listeners can come and go at run time. */
public final class ConnectionListeners implements ConnectionListener {
    private final List<ConnectionListener> listeners = new CopyOnWriteArrayList<>();

    public void add(ConnectionListener listener) {
        listeners.add(listener);
    }

    @Override
    public void connected(String sessionId) {
        listeners.forEach(l -> l.connected(sessionId));
    }

    @Override
    public void disconnected(String reason) {
        listeners.forEach(l -> l.disconnected(reason));
    }

    @Override
    public void reconnectScheduled(Duration delay) {
        listeners.forEach(l -> l.reconnectScheduled(delay));
    }

    @Override
    public void serverDraining(String reason) {
        listeners.forEach(l -> l.serverDraining(reason));
    }
}
