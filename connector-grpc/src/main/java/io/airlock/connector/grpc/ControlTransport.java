package io.airlock.connector.grpc;

import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.ControlPlaneMessage;
import java.time.Duration;

/**
 * The Control stream's I/O, all that {@link ControlSession} knows of the wire (as xDS's
 * XdsTransport is to its ControlPlaneClient): each attempt opens one stream on a connection of
 * its own, so a half-open link is never reused. Nothing here blocks except
 * {@link Stream#awaitTermination}, which only a closing thread calls.
 */
public interface ControlTransport {
    /** Opens a Control stream on a new connection; {@code events} hears from it on any thread. */
    Stream open(Events events);

    /** One attempt's stream and the connection under it. */
    interface Stream {
        /** True while the stream's window takes a message without queueing. */
        boolean isReady();

        void send(AgentMessage message);

        /** The session is up (Welcome came): Data streams and unary calls may use this connection now. */
        void established();

        /** Ends the stream with {@code reason} and drops the connection at once. */
        void cancel(String reason);

        /** Half-closes the stream and lets the connection finish what it carries; returns at once. */
        void finish();

        /** Waits at most {@code max} for the connection to end after {@link #finish}; never called on the session's loop. */
        boolean awaitTermination(Duration max) throws InterruptedException;
    }

    /** What a stream tells its session; each may come on any thread. */
    interface Events {
        /** The window opened: queued messages may go. */
        void ready();

        void message(ControlPlaneMessage message);

        /** The stream failed; {@code description} says how (status, cause). */
        void failed(String description);

        /** The control plane ended the stream. */
        void completed();
    }
}
