package io.airlock.core.work;

import io.airlock.tunnel.mcp.ResponseSink;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/**
 * An MCP exchange's response as Data frames, as few as the upstream's pace allows: the head
 * waits for the body's first bytes and the end (a small answer is one frame), and body bytes
 * gather into frames of up to {@code frameSize} until the upstream is about to wait
 * ({@link #flush}). Each frame's array is made for it, so the bytes are copied once between
 * the upstream's read and the gRPC frame.
 */
final class McpResponseFrames implements ResponseSink {
    private static final byte[] NONE = new byte[0];

    private final DataChannel channel;
    private final long deadlineMs;
    private final int frameSize;
    /** The head not yet sent (null once it went). */
    private Frame.HttpHead head;
    private byte[] held;
    private int filled;
    private boolean ended;

    McpResponseFrames(DataChannel channel, long deadlineMs, int frameSize) {
        this.channel = channel;
        this.deadlineMs = deadlineMs;
        this.frameSize = frameSize;
    }

    /** Whether the response went out whole (the end mark sent). */
    boolean ended() {
        return ended;
    }

    @Override
    public void head(int status, Map<String, String> headers) {
        head = new Frame.HttpHead(status, headers, NONE, false);
    }

    @Override
    public void body(byte[] bytes, int offset, int length) throws IOException {
        while (length > 0) {
            if (held == null) {
                held = new byte[frameSize];
            }
            int n = Math.min(length, frameSize - filled);
            System.arraycopy(bytes, offset, held, filled, n);
            filled += n;
            offset += n;
            length -= n;
            if (filled == frameSize) {
                sendHeld(false);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        if (head != null || filled > 0) {
            sendHeld(false);
        }
    }

    @Override
    public void end() throws IOException {
        if (head != null) {
            sendHeld(true);
        } else {
            if (filled > 0) {
                sendHeld(false);
            }
            send(new Frame.Eof());
        }
        ended = true;
        channel.finish();
    }

    @Override
    public void onCancel(Runnable action) {
        channel.peerClosed().whenComplete((v, t) -> action.run());
    }

    /** Sends the held head and bytes as one frame ({@code end}: and that is the whole response). */
    private void sendHeld(boolean end) throws IOException {
        byte[] data = filled == 0 ? NONE : filled == held.length ? held : Arrays.copyOf(held, filled);
        if (data == held) {
            held = null; // the frame owns it now
        }
        filled = 0;
        if (head != null) {
            Frame.HttpHead h = head;
            head = null;
            send(new Frame.HttpHead(h.status(), h.headers(), data, end));
        } else {
            send(new Frame.Chunk(data));
        }
    }

    private void send(Frame frame) throws IOException {
        if (channel.peerClosed().isDone()) {
            throw new IOException("the control plane closed the stream");
        }
        try {
            channel.send(frame, Duration.ofMillis(Math.max(1, deadlineMs - System.currentTimeMillis())));
        } catch (TimeoutException e) {
            throw new IOException("the control plane took no data: " + e.getMessage());
        } catch (CancellationException e) {
            throw new IOException("the control plane closed the stream");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
