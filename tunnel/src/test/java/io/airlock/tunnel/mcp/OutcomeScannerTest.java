package io.airlock.tunnel.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OutcomeScannerTest {
    /** Feeds {@code text} in pieces of {@code step} bytes, as a network would. */
    private static OutcomeScanner scan(String contentType, String text, int step) {
        OutcomeScanner s = new OutcomeScanner(contentType);
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < b.length; i += step) {
            s.feed(b, i, Math.min(step, b.length - i));
        }
        return s;
    }

    @Test
    void aJsonResultAndAJsonErrorAreTold() {
        for (int step : new int[] {1, 3, 1000}) {
            OutcomeScanner ok = scan("application/json", "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"id\":1,\"error\":2}]}}", step);
            assertTrue(ok.outcome("7").ok());
            OutcomeScanner err = scan("application/json; charset=utf-8",
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
            OutcomeScanner s = scan("text/event-stream", stream, step);
            assertTrue(s.outcome("3").ok(), "step " + step);
            assertEquals(-1, s.outcome("4").code(), "step " + step);
            assertNull(s.outcome("1"), "a notification is no response");
        }
    }

    @Test
    void aBatchOfResponsesIsRead() {
        OutcomeScanner s = scan("application/json", "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[1,2]},{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":5}}]", 4);
        assertTrue(s.outcome("1").ok());
        assertEquals(5, s.outcome("2").code());
    }

    @Test
    void garbageStopsTheWatchingButNothingElse() {
        OutcomeScanner s = scan("application/json", "{\"id\":1, nonsense", 3);
        assertNull(s.outcome("1"));
    }
}
