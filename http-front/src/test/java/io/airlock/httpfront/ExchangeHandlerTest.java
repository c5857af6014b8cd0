package io.airlock.httpfront;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The connection handler on an EmbeddedChannel (no socket, no event loop thread): refusals, a
 * small answer as one response of known length, a streamed one chunked, HTTP/1.1 pipelining
 * held behind the exchange under way, a caller hanging up.
 */
class ExchangeHandlerTest {
    /** Refuses {@code /refuse}; any other path starts an exchange whose response the test writes. */
    static final class TestHandler extends ExchangeHandler {
        final List<String> started = new CopyOnWriteArrayList<>();
        final BlockingQueue<Response> responses = new LinkedBlockingQueue<>();

        @Override
        protected void start(ChannelHandlerContext ctx, FullHttpRequest req) {
            started.add(req.uri());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (req.uri().equals("/refuse")) {
                refuse(ctx, HttpResponseStatus.FORBIDDEN, -32001, "tool \"rm\" is denied", keepAlive, Map.of("x-reason", "policy"));
                return;
            }
            Response r = response(ctx, keepAlive);
            launch(ctx, "exchange " + req.uri(), () -> responses.add(r));
        }

        boolean callerGone() {
            return gone().isDone();
        }
    }

    private static FullHttpRequest request(String uri, boolean keepAlive) {
        var r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri, Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8));
        HttpUtil.setKeepAlive(r, keepAlive);
        return r;
    }

    private static String text(HttpContent c) {
        return c.content().toString(StandardCharsets.UTF_8);
    }

    @Test
    void aRefusalIsAJsonRpcErrorOfKnownLengthAndTheConnectionGoesOn() {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/refuse", true));
        FullHttpResponse r = ch.readOutbound();
        assertEquals(403, r.status().code());
        assertEquals("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,\"message\":\"tool \\\"rm\\\" is denied\"}}", text(r));
        assertEquals(r.content().readableBytes(), HttpUtil.getContentLength(r));
        assertEquals("policy", r.headers().get("x-reason"));
        assertEquals("application/json", r.headers().get(HttpHeaderNames.CONTENT_TYPE));
        r.release();
        assertTrue(ch.isOpen());

        ch.writeInbound(request("/refuse", false));
        FullHttpResponse last = ch.readOutbound();
        last.release();
        ch.runPendingTasks();
        assertFalse(ch.isOpen(), "Connection: close is honoured once the refusal is written");
    }

    @Test
    void aSmallAnswerIsOneResponseWithALength() throws Exception {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/small", true));
        ExchangeHandler.Response r = h.responses.poll(5, TimeUnit.SECONDS);
        r.head(200, Map.of("content-type", "application/json"));
        r.body(Unpooled.copiedBuffer("{\"ok\":1}", StandardCharsets.UTF_8));
        assertNull(ch.readOutbound(), "the head waits for the end or more body");
        r.end();
        FullHttpResponse whole = ch.readOutbound();
        assertEquals("{\"ok\":1}", text(whole));
        assertEquals(8, HttpUtil.getContentLength(whole));
        assertEquals("no", whole.headers().get("x-accel-buffering"));
        assertFalse(HttpUtil.isTransferEncodingChunked(whole));
        whole.release();
        r.finish();
        assertTrue(ch.isOpen());
    }

    @Test
    void aNoContentAnswerCarriesNoLength() throws Exception {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/empty", true));
        ExchangeHandler.Response r = h.responses.poll(5, TimeUnit.SECONDS);
        r.head(204, Map.of());
        r.end();
        FullHttpResponse whole = ch.readOutbound();
        assertEquals(204, whole.status().code());
        assertFalse(whole.headers().contains(HttpHeaderNames.CONTENT_LENGTH));
        whole.release();
    }

    @Test
    void aStreamedAnswerIsChunkedAndWrittenAsItComes() throws Exception {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/stream", true));
        ExchangeHandler.Response r = h.responses.poll(5, TimeUnit.SECONDS);
        r.head(200, Map.of("content-type", "text/event-stream"));
        r.body(Unpooled.copiedBuffer("event: a\n\n", StandardCharsets.UTF_8));
        r.body(Unpooled.copiedBuffer("event: b\n\n", StandardCharsets.UTF_8));
        HttpResponse head = ch.readOutbound();
        assertInstanceOf(HttpResponse.class, head);
        assertTrue(HttpUtil.isTransferEncodingChunked(head));
        HttpContent a = ch.readOutbound();
        HttpContent b = ch.readOutbound();
        assertEquals("event: a\n\n", text(a));
        assertEquals("event: b\n\n", text(b));
        a.release();
        b.release();
        r.end();
        assertEquals(LastHttpContent.EMPTY_LAST_CONTENT, ch.readOutbound());
        assertTrue(r.headSent());
    }

    @Test
    void aPipelinedRequestWaitsUntilTheExchangeUnderWayIsAnswered() throws Exception {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/first", true));
        ExchangeHandler.Response first = h.responses.poll(5, TimeUnit.SECONDS);
        assertFalse(ch.config().isAutoRead(), "nothing more is read while an exchange runs");
        ch.writeInbound(request("/second", true));
        assertEquals(List.of("/first"), h.started);

        first.head(200, Map.of());
        first.end();
        ((FullHttpResponse) ch.readOutbound()).release();
        ch.runPendingTasks();
        assertEquals(List.of("/first", "/second"), h.started, "the pipelined request starts once the first is answered");
        ExchangeHandler.Response second = h.responses.poll(5, TimeUnit.SECONDS);
        second.head(200, Map.of());
        second.end();
        ((FullHttpResponse) ch.readOutbound()).release();
        ch.runPendingTasks();
        assertTrue(ch.config().isAutoRead(), "reading again once nothing is under way");
    }

    @Test
    void anErrorBeforeTheHeadAnswersTheWholeExchangeAndACallerHangingUpIsSeen() throws Exception {
        TestHandler h = new TestHandler();
        EmbeddedChannel ch = new EmbeddedChannel(h);
        ch.writeInbound(request("/fails", true));
        ExchangeHandler.Response r = h.responses.poll(5, TimeUnit.SECONDS);
        r.head(200, Map.of());
        r.body(Unpooled.copiedBuffer("partial", StandardCharsets.UTF_8));
        r.error(HttpResponseStatus.BAD_GATEWAY, -32010, "MCP server 'x' is down");
        FullHttpResponse err = ch.readOutbound();
        assertEquals(502, err.status().code());
        assertTrue(text(err).contains("MCP server 'x' is down"), text(err));
        err.release();
        assertNull(ch.readOutbound(), "the held head and body were dropped, never written");

        assertFalse(h.callerGone());
        ch.close();
        assertTrue(h.callerGone(), "the caller's hang-up completes gone() (and cancels the exchange)");
    }
}
