package io.airlock.connector.grpc;

import java.time.Duration;

/** Connection lifecycle, for logs, readiness and tests. Every method has a default. */
public interface ConnectionListener {
    default void connected(String sessionId) {}

    /** The link was lost or closed; {@code reason} says why (e.g. the ping deadline). */
    default void disconnected(String reason) {}

    default void reconnectScheduled(Duration delay) {}

    default void serverDraining(String reason) {}
}
