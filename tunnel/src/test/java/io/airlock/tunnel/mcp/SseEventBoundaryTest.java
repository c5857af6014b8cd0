package io.airlock.tunnel.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Event ends are found wherever the stream is split into chunks, with every line ending SSE allows. */
class SseEventBoundaryTest {
    @Test
    void eventEndsAreFoundInEveryChunkingWithLfCrlfAndCr() {
        for (String eol : List.of("\n", "\r\n", "\r")) {
            String first = "event: message" + eol + "data: {\"id\":1}" + eol + eol;
            String second = "data: {\"id\":2}" + eol + eol;
            String partial = "data: {\"id\":3";
            byte[] all = (first + second + partial).getBytes(StandardCharsets.US_ASCII);
            List<Integer> expected = List.of(first.length(), first.length() + second.length());
            for (int a = 0; a <= all.length; a++) {
                for (int b = a; b <= all.length; b++) {
                    List<Integer> ends = ends(all, a, b);
                    String where = "split at " + a + "," + b + " with " + eol.replace("\r", "CR").replace("\n", "LF") + ": " + ends;
                    assertTrue(expected.containsAll(ends), where);
                    assertEquals(expected.get(1), ends.get(ends.size() - 1), where);
                }
            }
        }
    }

    @Test
    void aCrlfSplitAcrossChunksEndsTheEventAtItsCr() {
        SseEventBoundary boundary = new SseEventBoundary();
        byte[] head = "data: x\r\n\r".getBytes(StandardCharsets.US_ASCII);
        assertEquals(head.length, boundary.lastEventEnd(head, 0, head.length));
        byte[] tail = "\ndata: y".getBytes(StandardCharsets.US_ASCII);
        assertEquals(-1, boundary.lastEventEnd(tail, 0, tail.length), "the LF belongs to the CRLF, not to a new empty line");
    }

    /** The distinct event ends reported when {@code bytes} arrives in three chunks cut at {@code a} and {@code b}. */
    private static List<Integer> ends(byte[] bytes, int a, int b) {
        SseEventBoundary boundary = new SseEventBoundary();
        List<Integer> ends = new ArrayList<>();
        int[][] chunks = {{0, a}, {a, b}, {b, bytes.length}};
        for (int[] c : chunks) {
            int end = boundary.lastEventEnd(bytes, c[0], c[1] - c[0]);
            if (end >= 0) {
                ends.add(end);
            }
        }
        // A CRLF split between chunks ends the event at its CR; count that as the end after its LF.
        return ends.stream().map(e -> e < bytes.length && bytes[e - 1] == '\r' && bytes[e] == '\n' ? e + 1 : e).toList();
    }
}
