package io.airlock.tunnel.mcp.jsonrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResponseScannerTest {
    /** Feeds {@code text} in pieces of {@code step} bytes, as a network would. */
    private static ResponseScanner scan(String contentType, String text, int step) {
        ResponseScanner s = new ResponseScanner(contentType);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i += step) {
            s.feed(b, i, Math.min(step, b.length - i));
        }
        return s;
    }

    @Test
    void aJsonResultAndAJsonErrorAreTold() {
        for (int step : new int[] {1, 3, 1000}) {
            ResponseScanner ok = scan("application/json", "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"id\":1,\"error\":2}]}}", step);
            assertTrue(ok.outcome("7").ok());
            ResponseScanner err = scan("application/json; charset=utf-8",
                    "{\"jsonrpc\":\"2.0\",\"error\":{\"data\":{\"code\":1},\"code\":-32602,\"message\":\"bad tool\"},\"id\":\"a\\\"b\"}", step);
            assertFalse(err.outcome("\"a\\\"b\"").ok());
            assertEquals(-32602, err.outcome("\"a\\\"b\"").code());
            assertEquals("bad tool", err.outcome("\"a\\\"b\"").message());
        }
    }

    @Test
    void sseEventsAreReadOneByOneWhateverTheChunking() {
        String stream = "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n"
                + ": comment\r\n"
                + "event: message\ndata: {\"jsonrpc\":\"2.0\",\n"
                + "data: \"id\":3,\"result\":{}}\n\n"
                + "data:{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-1,\"message\":\"no\"}}\n\n";
        for (int step : new int[] {1, 2, 7, 10_000}) {
            ResponseScanner s = scan("text/event-stream", stream, step);
            assertTrue(s.outcome("3").ok(), "step " + step);
            assertEquals(-1, s.outcome("4").code(), "step " + step);
            assertNull(s.outcome("1"), "a notification is no response");
        }
    }

    @Test
    void aBatchOfResponsesIsRead() {
        ResponseScanner s = scan("application/json", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,2]},{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":5}}]", 4);
        assertTrue(s.outcome("1").ok());
        assertEquals(5, s.outcome("2").code());
    }

    @Test
    void garbageStopsTheWatchingButNothingElse() {
        ResponseScanner s = scan("application/json", "{\"id\":1, nonsense", 3);
        assertNull(s.outcome("1"));
        assertNull(scan("application/json", "}}{\"id\":1,\"result\":{}}", 1).outcome("1"), "after a stray close nothing is read");
        assertNull(scan("text/html", "<html>{\"id\":1}</html>", 5).outcome("1"));
    }

    @Test
    void idsAreNamedAsJacksonWritesThem() {
        ResponseScanner s = scan("application/json", "[{\"id\":\"\\u0061b\",\"result\":1},{\"id\" : -12 ,\"result\":null},"
                + "{\"id\":\"é\",\"result\":true},{\"id\":1.0,\"result\":2}]", 2);
        assertTrue(s.outcome("\"ab\"").ok());
        assertTrue(s.outcome("-12").ok());
        assertTrue(s.outcome("\"é\"").ok());
        assertTrue(s.outcome("1.0").ok());
    }

    @Test
    void aLargeResultIsSteppedOverAndLookAlikesInsideItAreNotMessages() {
        String big = "x\\\"{}[]:,".repeat(100_000);
        String text = "{\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + big + "\",\"id\":9,\"error\":{\"code\":3}}]},"
                + "\"jsonrpc\":\"2.0\",\"id\":5}";
        for (int step : new int[] {1, 4096, Integer.MAX_VALUE}) {
            ResponseScanner s = scan("text/event-stream", "event: message\r\ndata: " + text + "\r\n\r\n", Math.min(step, 2_000_000));
            assertTrue(s.outcome("5").ok(), "step " + step);
            assertNull(s.outcome("9"));
            assertTrue(s.betweenEvents());
        }
    }

    @Test
    void aLongErrorMessageIsCutToTwoHundredCharactersWhereverItsEscapesFall() {
        for (String unit : List.of("a", "é", "\\n", "\\u00e9", "😀")) {
            for (int pad = 0; pad < 7; pad++) {
                String message = "p".repeat(pad) + unit.repeat(1200);
                ResponseScanner s = scan("application/json", "{\"id\":1,\"error\":{\"code\":-32000,\"message\":\"" + message + "\"}}", 5);
                JsonOutline.Outcome o = s.outcome("1");
                assertEquals(-32000, o.code(), unit);
                assertTrue(o.message().endsWith("…") && o.message().length() <= 201, unit + ": " + o.message().length());
            }
        }
    }

    @Test
    void aStreamCutAnywhereParsesAsTheWholeEventsThenTheErrorWithNothingHalfDispatched() {
        for (String eol : List.of("\n", "\r\n", "\r")) {
            String stream = "event: message" + eol + "id: 1" + eol + "data: {\"id\":1}" + eol + eol
                    + "data: {\"id\":2," + eol + "data: \"more\":true}" + eol + eol;
            byte[] all = stream.getBytes(StandardCharsets.US_ASCII);
            String firstEnd = "event: message" + eol + "id: 1" + eol + "data: {\"id\":1}" + eol + eol;
            for (int cut = 0; cut <= all.length; cut++) {
                ResponseScanner cursor = new ResponseScanner("text/event-stream");
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
        ResponseScanner cursor = new ResponseScanner("text/event-stream");
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
