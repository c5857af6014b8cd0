package io.airlock.tunnel.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Wherever an SSE stream is cut, with any line ending, the cut plus an error event parse (by the
 * standard's rules) as: the events that were whole, an ignored event, then the error event.
 */
class SseCursorTest {
    @Test
    void aStreamCutAnywhereParsesAsTheWholeEventsThenTheErrorWithNothingHalfDispatched() {
        for (String eol : List.of("\n", "\r\n", "\r")) {
            String stream = "event: message" + eol + "id: 1" + eol + "data: {\"id\":1}" + eol + eol
                    + "data: {\"id\":2," + eol + "data: \"more\":true}" + eol + eol;
            byte[] all = stream.getBytes(StandardCharsets.US_ASCII);
            String firstEnd = "event: message" + eol + "id: 1" + eol + "data: {\"id\":1}" + eol + eol;
            for (int cut = 0; cut <= all.length; cut++) {
                SseCursor cursor = new SseCursor();
                cursor.feed(all, 0, cut);
                String sent = new String(all, 0, cut, StandardCharsets.US_ASCII) + new String(cursor.cut(), StandardCharsets.US_ASCII)
                        + "event: message\ndata: {\"error\":true}\n\n";
                List<String> messages = messages(sent);
                String where = "cut at " + cut + " with " + eol.replace("\r", "CR").replace("\n", "LF") + ": " + messages;
                List<String> expected = new ArrayList<>();
                if (cut >= firstEnd.length() - (eol.equals("\r\n") ? 1 : 0)) {
                    expected.add("{\"id\":1}");
                }
                if (cut >= all.length - (eol.equals("\r\n") ? 1 : 0)) {
                    expected.add("{\"id\":2,\n\"more\":true}");
                }
                expected.add("{\"error\":true}");
                assertEquals(expected, messages, where);
                assertEquals(cursor.cut().length == 0, cursor.betweenEvents(), where);
            }
        }
    }

    @Test
    void betweenEventsNothingIsAdded() {
        SseCursor cursor = new SseCursor();
        assertTrue(cursor.betweenEvents());
        byte[] whole = "data: x\n\n".getBytes(StandardCharsets.US_ASCII);
        cursor.feed(whole, 0, whole.length);
        assertEquals(0, cursor.cut().length);
    }

    /** The data of each "message" event, dispatched as an EventSource would (other types are ignored). */
    private static List<String> messages(String stream) {
        List<String> out = new ArrayList<>();
        StringBuilder data = null;
        String type = "";
        int i = 0;
        while (i < stream.length()) {
            int end = i;
            while (end < stream.length() && stream.charAt(end) != '\n' && stream.charAt(end) != '\r') {
                end++;
            }
            if (end == stream.length()) {
                break; // an unterminated last line is never processed
            }
            String line = stream.substring(i, end);
            i = end + (stream.startsWith("\r\n", end) ? 2 : 1);
            if (line.isEmpty()) {
                if (data != null && (type.isEmpty() || type.equals("message"))) {
                    out.add(data.toString());
                }
                data = null;
                type = "";
            } else if (line.startsWith("data:")) {
                String v = line.substring(5).startsWith(" ") ? line.substring(6) : line.substring(5);
                data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
            } else if (line.startsWith("event:")) {
                type = line.substring(6).strip();
            }
        }
        return out;
    }
}
