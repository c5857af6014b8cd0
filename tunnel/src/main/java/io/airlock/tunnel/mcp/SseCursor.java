package io.airlock.tunnel.mcp;

import java.nio.charset.StandardCharsets;

/**
 * Where a relayed SSE stream stands: between events, or inside one (and then whether in the
 * middle of a line), per the HTML Living Standard's grammar (lines end with CRLF, LF or CR; an
 * empty line ends an event). When the upstream fails inside an event, {@link #cut()} gives the
 * bytes that end that event harmlessly before the tunnel adds its own error events: the event
 * is renamed to {@value #CUT_EVENT}, a type MCP clients ignore (they take only {@code message}),
 * so a half-sent JSON-RPC message is never parsed. Bytes go on as they arrive, with nothing held.
 */
final class SseCursor {
    static final String CUT_EVENT = "airlock-cut";
    private boolean inEvent;
    private boolean lineEmpty = true;
    private boolean afterCr;

    void feed(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (b == '\n' && afterCr) {
                afterCr = false; // the LF of a CRLF: the line already ended at its CR
                continue;
            }
            afterCr = b == '\r';
            if (b == '\n' || b == '\r') {
                if (lineEmpty) {
                    inEvent = false; // an empty line ends the event
                }
                lineEmpty = true;
            } else {
                lineEmpty = false;
                inEvent = true;
            }
        }
    }

    /** Nothing was sent of an event not yet ended. */
    boolean betweenEvents() {
        return !inEvent;
    }

    /** What ends the current, unfinished event as one clients ignore; empty between events. */
    byte[] cut() {
        if (!inEvent) {
            return new byte[0];
        }
        return ((lineEmpty ? "" : "\n") + "event: " + CUT_EVENT + "\n\n").getBytes(StandardCharsets.US_ASCII);
    }
}
