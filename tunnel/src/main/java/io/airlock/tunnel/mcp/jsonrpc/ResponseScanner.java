package io.airlock.tunnel.mcp.jsonrpc;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Watches a relayed response in one pass over its bytes, as they go by, with nothing held back:
 * <ul>
 *   <li>for every JSON-RPC response in it (a JSON body, or SSE events), whether it carries a
 *       result or an error: the outcome each request's audit record names ({@link JsonOutline});
 *   <li>for an SSE stream, where it stands (between events, or inside one, and then whether in
 *       the middle of a line), per the HTML Living Standard's grammar: lines end with CRLF, LF
 *       or CR, and an empty line ends an event.
 * </ul>
 * When the upstream fails inside an event, {@link #cut()} gives the bytes that end that event
 * harmlessly before the tunnel adds its own error events: the event is renamed to
 * {@value #CUT_EVENT}, a type MCP clients ignore (they take only {@code message}), so a half-sent
 * JSON-RPC message is never parsed.
 */
public final class ResponseScanner {
    static final String CUT_EVENT = "airlock-cut";
    private static final int MAX_FIELD = 16;

    private final boolean sse;
    private final Map<String, JsonOutline.Outcome> outcomes = new HashMap<>();
    private final JsonOutline json = new JsonOutline(outcomes);

    // SSE: where the stream stands.
    private boolean inEvent;
    private boolean lineEmpty = true;
    private boolean afterCr;
    // SSE: the current line's field name, and whether its value (data) goes to the JSON outline.
    private final byte[] field = new byte[MAX_FIELD];
    private int fieldLength;
    private boolean inValue;
    private boolean dataLine;
    private boolean skipSpace;
    private boolean eventHasData;

    public ResponseScanner(String contentType) {
        this.sse = isSse(contentType);
    }

    static boolean isSse(String contentType) {
        return contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("text/event-stream");
    }

    public boolean sse() {
        return sse;
    }

    /** The outcome of the request with this id (JSON text: {@code 1}, {@code "a"}), or null if none was seen. */
    public JsonOutline.Outcome outcome(String id) {
        return outcomes.get(id);
    }

    public void feed(byte[] bytes, int offset, int length) {
        int end = offset + length;
        if (!sse) {
            json.feed(bytes, offset, end, false);
            return;
        }
        int i = offset;
        while (i < end) {
            byte b = bytes[i];
            if (b == '\n' && afterCr) {
                afterCr = false; // the LF of a CRLF: the line already ended at its CR
                i++;
                continue;
            }
            afterCr = b == '\r';
            if (b == '\n' || b == '\r') {
                endLine();
                i++;
                continue;
            }
            lineEmpty = false;
            inEvent = true;
            if (!inValue) {
                if (b == ':') {
                    inValue = true;
                    dataLine = fieldLength == 4 && field[0] == 'd' && field[1] == 'a' && field[2] == 't' && field[3] == 'a';
                    skipSpace = true;
                } else if (fieldLength < MAX_FIELD) {
                    field[fieldLength++] = b;
                }
                i++;
                continue;
            }
            if (skipSpace) {
                skipSpace = false;
                if (b == ' ') {
                    i++;
                    continue;
                }
            }
            i = dataLine ? json.feed(bytes, i, end, true) : lineEnd(bytes, i, end);
        }
    }

    private static int lineEnd(byte[] bytes, int i, int end) {
        return ByteSearch.indexOfAny(bytes, i, end, (byte) '\n', (byte) '\r');
    }

    private void endLine() {
        if (lineEmpty) {
            inEvent = false; // an empty line ends the event: its data is one JSON-RPC message (or batch)
            if (eventHasData) {
                json.end();
            }
            json.reset();
            eventHasData = false;
        } else if (dataLine) {
            eventHasData = true;
            json.lineBreak();
        }
        fieldLength = 0;
        inValue = false;
        dataLine = false;
        lineEmpty = true;
    }

    /** Nothing was sent of an SSE event not yet ended. */
    boolean betweenEvents() {
        return !inEvent;
    }

    /** What ends the current, unfinished SSE event as one clients ignore; empty between events. */
    public byte[] cut() {
        if (!inEvent) {
            return new byte[0];
        }
        return ((lineEmpty ? "" : "\n") + "event: " + CUT_EVENT + "\n\n").getBytes(StandardCharsets.US_ASCII);
    }
}
