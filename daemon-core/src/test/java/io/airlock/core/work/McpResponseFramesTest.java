package io.airlock.core.work;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class McpResponseFramesTest {
    private final FakeConnector.Channel channel = new FakeConnector.Channel(f -> {});
    private final McpResponseFrames frames = new McpResponseFrames(channel, System.currentTimeMillis() + 60_000, 8);

    @Test
    void aSmallAnswerIsOneFrame() throws Exception {
        frames.head(200, Map.of("content-type", "application/json"));
        byte[] json = bytes("{\"a\":1}");
        frames.body(json, 0, json.length);
        Arrays.fill(json, (byte) 'x'); // the caller's array is its own again on return
        frames.end();
        assertEquals(1, channel.sent.size(), channel.sent.toString());
        Frame.HttpHead head = assertInstanceOf(Frame.HttpHead.class, channel.sent.get(0));
        assertEquals(200, head.status());
        assertEquals("{\"a\":1}", text(head.body()));
        assertTrue(head.end());
        assertTrue(channel.finished);
        assertTrue(frames.ended());
    }

    @Test
    void aFlushSendsTheHeadAloneWhenTheUpstreamWaits() throws Exception {
        frames.head(200, Map.of("content-type", "text/event-stream"));
        frames.flush();
        assertEquals(1, channel.sent.size());
        Frame.HttpHead head = assertInstanceOf(Frame.HttpHead.class, channel.sent.get(0));
        assertEquals("", text(head.body()));
        assertFalse(head.end());
        frames.flush(); // nothing held: nothing sent
        assertEquals(1, channel.sent.size());
        frames.body(bytes("ab"), 0, 2);
        frames.body(ByteBuffer.wrap(bytes("cd")));
        assertEquals(1, channel.sent.size(), "held until the upstream waits or a frame is full");
        frames.flush();
        assertEquals("abcd", text(assertInstanceOf(Frame.Body.class, channel.sent.get(1)).pieces()));
        frames.end();
        assertInstanceOf(Frame.Eof.class, channel.sent.get(2));
        assertEquals(3, channel.sent.size());
    }

    @Test
    void bytesGoInFullFramesTheHeadCarryingTheFirst() throws Exception {
        frames.head(200, Map.of());
        frames.body(bytes("0123456789abcdefXYZ"), 0, 19);
        assertEquals(2, channel.sent.size(), "two full frames of 8 went at once");
        assertEquals("01234567", text(assertInstanceOf(Frame.HttpHead.class, channel.sent.get(0)).body()));
        assertEquals("89abcdef", text(assertInstanceOf(Frame.Body.class, channel.sent.get(1)).pieces()));
        frames.end();
        assertEquals("XYZ", text(assertInstanceOf(Frame.Body.class, channel.sent.get(2)).pieces()));
        assertInstanceOf(Frame.Eof.class, channel.sent.get(3));
    }

    @Test
    void anUpstreamsOwnBuffersGoIntoTheFramesUncopiedSlicedAtAFramesEdge() throws Exception {
        frames.head(200, Map.of());
        frames.flush();
        byte[] read = bytes("__abcdefghij__");
        frames.body(ByteBuffer.wrap(read, 2, 10)); // a read of 10 bytes at offset 2 of the client's array
        frames.end();
        List<ByteBuffer> first = assertInstanceOf(Frame.Body.class, channel.sent.get(1)).pieces();
        List<ByteBuffer> rest = assertInstanceOf(Frame.Body.class, channel.sent.get(2)).pieces();
        assertEquals("abcdefgh", text(first));
        assertEquals("ij", text(rest));
        assertSame(read, first.get(0).array(), "the frame holds the upstream's buffer, not a copy");
        assertSame(read, rest.get(0).array());
    }

    @Test
    void theCallerGoneStopsSending() {
        frames.head(200, Map.of());
        channel.peerClosed.complete(null);
        IOException e = assertThrows(IOException.class, frames::flush);
        assertTrue(e.getMessage().contains("closed the stream"), e.getMessage());
        assertTrue(channel.sent.isEmpty());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(List<ByteBuffer> pieces) {
        StringBuilder s = new StringBuilder();
        for (ByteBuffer p : pieces) {
            s.append(StandardCharsets.US_ASCII.decode(p.duplicate()));
        }
        return s.toString();
    }
}
