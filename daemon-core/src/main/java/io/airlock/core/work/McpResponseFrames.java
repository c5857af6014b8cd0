package io.airlock.core.work;

import io.airlock.tunnel.mcp.ResponseSink;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;

/**
 * An MCP exchange's response as Data frames, as few as the upstream's pace allows: the head
 * waits for the body's first bytes and the end (a small answer is one frame), and body bytes
 * gather into frames of {@code frameSize} until the upstream is about to wait ({@link #flush}).
 * Buffers the upstream hands over go into the frame as they are (sliced at a frame's edge, never
 * copied); bytes in the caller's own array are copied once.
 */
final class McpResponseFrames implements ResponseSink {
    private final DataChannel channel;
    private final long deadlineMs;
    private final int frameSize;
    /** The head not yet sent (null once it went). */
    private Frame.HttpHead head;
    private final List<ByteBuffer> held = new ArrayList<>();
    private int heldBytes;
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
        head = new Frame.HttpHead(status, headers, List.of(), false);
    }

    @Override
    public void body(byte[] bytes, int offset, int length) throws IOException {
        body(ByteBuffer.wrap(Arrays.copyOfRange(bytes, offset, offset + length)));
    }

    @Override
    public void body(ByteBuffer owned) throws IOException {
        int at = owned.position();
        int end = owned.limit();
        while (at < end) {
            int n = Math.min(end - at, frameSize - heldBytes);
            held.add(owned.slice(at, n));
            heldBytes += n;
            at += n;
            if (heldBytes == frameSize) {
                sendHeld(false);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        if (head != null || heldBytes > 0) {
            sendHeld(false);
        }
    }

    @Override
    public void end() throws IOException {
        if (head != null) {
            sendHeld(true);
        } else {
            if (heldBytes > 0) {
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
        List<ByteBuffer> data = List.copyOf(held);
        held.clear();
        heldBytes = 0;
        if (head != null) {
            Frame.HttpHead h = head;
            head = null;
            send(new Frame.HttpHead(h.status(), h.headers(), data, end));
        } else {
            send(new Frame.Body(data));
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
