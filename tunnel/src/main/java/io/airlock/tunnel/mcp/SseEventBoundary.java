package io.airlock.tunnel.mcp;

/**
 * Finds where server-sent events end in a byte stream fed chunk by chunk: an event ends with
 * an empty line, and lines end with CRLF, LF or CR (the HTML Living Standard's SSE grammar).
 * Only the state that spans chunks is kept: whether the current line is empty so far and
 * whether the last byte was a CR.
 */
final class SseEventBoundary {
    private boolean lineEmpty = true;
    private boolean afterCr;

    /** @return the index just after the last event end in {@code bytes[offset, offset+length)}, or -1 if none ends there */
    int lastEventEnd(byte[] bytes, int offset, int length) {
        int last = -1;
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (b == '\n' && afterCr) {
                afterCr = false; // the LF of a CRLF: the line already ended at its CR
                if (last == i) {
                    last = i + 1; // keep the LF with the event it ends
                }
                continue;
            }
            afterCr = b == '\r';
            if (b == '\n' || b == '\r') {
                if (lineEmpty) {
                    last = i + 1;
                }
                lineEmpty = true;
            } else {
                lineEmpty = false;
            }
        }
        return last;
    }
}
