package io.airlock.core.work;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * What travels on a work's {@link DataChannel}. Outbound (agent to caller): output, file
 * chunks and their end, an MCP response's head and body, errors about a control frame. Inbound: stdin,
 * resize, signal, file chunks and their end.
 */
public sealed interface Frame {
    /** Exec output; {@code seq} counts from 1 per exec across both streams, for replay after a re-attach. */
    record Output(long seq, boolean stderr, byte[] data) implements Frame {}

    record Stdin(byte[] data) implements Frame {}

    record StdinEof() implements Frame {}

    record Chunk(byte[] data) implements Frame {}

    record Eof() implements Frame {}

    record Resize(int columns, int rows) implements Frame {}

    /** @param name as sent: {@code SIGTERM}, or whatever else a caller sent (refused with the known names) */
    record Signal(String name) implements Frame {}

    /**
     * Bytes of an MCP response, in the buffers the upstream read them into (the frame owns them:
     * nothing writes them again), sent as one chunk.
     */
    record Body(List<ByteBuffer> pieces) implements Frame {}

    /** An MCP response's head, with the body's first bytes (maybe none); {@code end}: that is the whole response. */
    record HttpHead(int status, Map<String, String> headers, List<ByteBuffer> body, boolean end) implements Frame {}

    /** A control frame (resize, signal) failed; the work goes on. */
    record Error(WorkError error, String message) implements Frame {}
}
