package io.airlock.core.work;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * One work's byte stream to its caller, with flow control both ways (airlock.v1: a Data stream).
 * Sending waits for the peer's window; inbound frames go to the {@link Inbound} given at open,
 * one at a time, the next only after the previous one was handled.
 */
public interface DataChannel {
    /** Handles one inbound frame; throwing aborts the channel with the exception's message. */
    @FunctionalInterface
    interface Inbound {
        void accept(Frame frame) throws Exception;
    }

    /**
     * Sends when the peer has room, waiting at most {@code max}.
     *
     * @throws java.util.concurrent.CancellationException the peer ended the channel meanwhile
     */
    void send(Frame frame, Duration max) throws InterruptedException, TimeoutException;

    /** Sends now, whatever the window (small control answers only). */
    void sendNow(Frame frame);

    /** The agent has sent everything: ends the channel normally. */
    void finish();

    /** Ends the channel as failed, telling the peer why. */
    void abort(String why);

    /**
     * Completes when the peer ended its side: normally, or exceptionally with a
     * {@link WorkException} saying why (the link broke, the deadline passed).
     */
    CompletableFuture<Void> peerClosed();
}
