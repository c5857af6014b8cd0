package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EventStreamTest {
    private static EventStream of(String text) {
        return new EventStream(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void eventsComeOutInOrderWithPingsAndCommentsSkipped() throws IOException {
        try (EventStream s = of(": connected\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\nevent: agent.tool_use\r\ndata: {\"type\":"
                + "\"agent.tool_use\",\r\ndata: \"id\":\"t1\"}\r\n\r\ndata:{\"type\":\"x\"}\n\n")) {
            assertEquals("t1", s.next().get("id").asText(), "data lines join with a newline; CRLF is taken");
            assertEquals("x", s.next().get("type").asText(), "no space after the colon is fine");
            assertNull(s.next());
        }
    }

    @Test
    void anErrorEventOrAnEndlessLineEndsTheStreamWithAnError() {
        assertTrue(assertThrows(IOException.class, () -> of("event: error\ndata: {\"error\":{}}\n\n").next()).getMessage()
                .contains("the event stream sent an error"));
        String huge = "data: " + "x".repeat(EventStream.MAX_LINE + 10) + "\n\n";
        assertTrue(assertThrows(IOException.class, () -> of(huge).next()).getMessage().contains("over " + EventStream.MAX_LINE + " bytes"));
    }
}
