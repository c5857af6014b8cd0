package io.airlock.tunnel.mcp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * Where an exchange's HTTP response goes (the Data stream back to the control plane). Every
 * call may block while the caller's flow-control window is closed, and throws once the
 * caller is gone; {@link #head} comes first and once.
 *
 * <p>A sink may hold what it was given (the head until body bytes come, bytes until there are
 * enough for a frame) so that a small answer travels as one message; it sends what it holds at
 * {@link #end}, or at {@link #flush}, which an upstream calls before it waits for more.
 */
public interface ResponseSink {
    /** Status and headers (lower-case names). */
    void head(int status, Map<String, String> headers) throws IOException;

    /** Bytes of the body; the sink copies what it keeps ({@code bytes} is the caller's again on return). */
    void body(byte[] bytes, int offset, int length) throws IOException;

    /**
     * Bytes of the body that the sink may keep as they are: the upstream read them into this
     * buffer and never touches it again (so they need not be copied on their way to the frame).
     */
    default void body(ByteBuffer owned) throws IOException {
        if (owned.hasArray()) {
            body(owned.array(), owned.arrayOffset() + owned.position(), owned.remaining());
        } else {
            byte[] copy = new byte[owned.remaining()];
            owned.get(copy);
            body(copy, 0, copy.length);
        }
    }

    /** Sends what the sink holds: the upstream has nothing more at hand and is about to wait. */
    default void flush() throws IOException {}

    /** The response is complete. */
    void end() throws IOException;

    /**
     * Runs {@code action} once the caller has gone before the response was complete (at once if
     * it already has), so a stream that is idle (an SSE stream waiting for events) is freed too.
     */
    default void onCancel(Runnable action) {}
}
