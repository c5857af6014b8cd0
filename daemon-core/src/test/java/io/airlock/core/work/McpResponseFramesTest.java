package io.airlock.core.work;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class McpResponseFramesTest {
    private final FakeConnector.Channel channel = new FakeConnector.Channel(f -> {});
    private final McpResponseFrames frames = new McpResponseFrames(channel, System.currentTimeMillis() + 60_000, 8);

    @Test
    void aSmallAnswerIsOneFrame() throws Exception {
        frames.head(200, Map.of("content-type", "application/json"));
        byte[] json = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        frames.body(json, 0, json.length);
        Arrays.fill(json, (byte) 'x'); // the caller's array is its own again on return
        frames.end();
        assertEquals(1, channel.sent.size(), channel.sent.toString());
        Frame.HttpHead head = assertInstanceOf(Frame.HttpHead.class, channel.sent.get(0));
        assertEquals(200, head.status());
        assertEquals("{\"a\":1}", new String(head.body(), StandardCharsets.UTF_8));
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
        assertEquals(0, head.body().length);
        assertFalse(head.end());
        frames.flush(); // nothing held: nothing sent
        assertEquals(1, channel.sent.size());
        frames.body(bytes("ab"), 0, 2);
        frames.body(bytes("cd"), 0, 2);
        assertEquals(1, channel.sent.size(), "held until the upstream waits or a frame is full");
        frames.flush();
        assertArrayEquals(bytes("abcd"), assertInstanceOf(Frame.Chunk.class, channel.sent.get(1)).data());
        frames.end();
        assertInstanceOf(Frame.Eof.class, channel.sent.get(2));
        assertEquals(3, channel.sent.size());
    }

    @Test
    void bytesGoInFullFramesTheHeadCarryingTheFirst() throws Exception {
        frames.head(200, Map.of());
        frames.body(bytes("0123456789abcdefXYZ"), 0, 19);
        assertEquals(2, channel.sent.size(), "two full frames of 8 went at once");
        assertArrayEquals(bytes("01234567"), assertInstanceOf(Frame.HttpHead.class, channel.sent.get(0)).body());
        assertArrayEquals(bytes("89abcdef"), assertInstanceOf(Frame.Chunk.class, channel.sent.get(1)).data());
        frames.end();
        assertArrayEquals(bytes("XYZ"), assertInstanceOf(Frame.Chunk.class, channel.sent.get(2)).data());
        assertInstanceOf(Frame.Eof.class, channel.sent.get(3));
    }

    @Test
    void theCallerGoneStopsSending() throws Exception {
        frames.head(200, Map.of());
        channel.peerClosed.complete(null);
        IOException e = assertThrows(IOException.class, frames::flush);
        assertTrue(e.getMessage().contains("closed the stream"), e.getMessage());
        assertTrue(channel.sent.isEmpty());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
