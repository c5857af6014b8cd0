package io.airlock.connector.grpc;

import io.grpc.ManagedChannel;
import java.util.ArrayDeque;
import java.util.function.Function;

/**
 * Data streams opened ahead of need on the live connection, each waiting for the DataOpen that
 * names its command: when a command comes, its stream is already there, and the new HTTP/2
 * stream (HEADERS out, the control plane setting up the call) is off the operation's path.
 * At most {@code size} wait; a stream taken is replaced afterwards, off the caller's path; the
 * pool empties (its streams cancelled) when the connection goes, and a stream the control plane
 * ends while idle leaves it. A control plane sees an idle stream as a Data call whose first
 * frame has not come yet, which airlock.v1 always allowed.
 */
final class DataStreamPool {
    private final int size;
    private final Function<ManagedChannel, GrpcDataChannel> opener;
    private final ArrayDeque<GrpcDataChannel> idle = new ArrayDeque<>();
    /** The connection the idle streams are on; null while there is none. */
    private ManagedChannel channel;

    /** @param opener starts an idle Data call on a channel */
    DataStreamPool(int size, Function<ManagedChannel, GrpcDataChannel> opener) {
        this.size = size;
        this.opener = opener;
    }

    /** An idle stream on {@code live}, or null when none waits (the caller opens one itself). */
    synchronized GrpcDataChannel take(ManagedChannel live) {
        if (live == null || live != channel) {
            return null;
        }
        GrpcDataChannel c;
        while ((c = idle.poll()) != null) {
            if (!c.peerClosed().isDone()) {
                return c;
            }
        }
        return null;
    }

    /** Opens streams on {@code live} until {@code size} wait; a new connection first clears the old one's. */
    void fill(ManagedChannel live) {
        synchronized (this) {
            if (live != channel) {
                clear();
                channel = live;
            }
        }
        while (true) {
            synchronized (this) {
                if (channel != live || live == null || live.isShutdown() || idle.size() >= size) {
                    return;
                }
            }
            GrpcDataChannel c;
            try {
                c = opener.apply(live);
            } catch (RuntimeException e) {
                return; // the channel is shutting down: the next connection fills its own
            }
            synchronized (this) {
                if (channel != live) {
                    c.abort("the connection changed");
                    return;
                }
                idle.add(c);
            }
            c.peerClosed().whenComplete((v, t) -> remove(c));
        }
    }

    /** Cancels the idle streams (before a connection is shut down: an idle call would hold its graceful end). */
    synchronized void clear() {
        channel = null;
        GrpcDataChannel c;
        while ((c = idle.poll()) != null) {
            c.abort("the connection is closing");
        }
    }

    synchronized int idle() {
        return idle.size();
    }

    private synchronized void remove(GrpcDataChannel c) {
        idle.remove(c);
    }
}
