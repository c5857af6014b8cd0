package io.airlock.httpfront;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * One caller connection: each request is turned into an exchange by {@link #start} and run on a
 * virtual thread, one at a time (as HTTP/1.1 has it: a request pipelined meanwhile waits, and
 * nothing more is read). While it runs, one read stays asked for, so a caller that hangs up is
 * seen at once and {@link #gone()} completes (the exchange is cancelled, and the upstream's
 * request closed). The response is written as it comes, each write waiting only when the
 * connection is backed up: the caller's pace is the stream's.
 */
public abstract class ExchangeHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    /** How long a backed-up connection may take no bytes before the exchange is given up. */
    private static final Duration WRITE_STALL = Duration.ofSeconds(60);

    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    /** An exchange of this connection is under way (event loop only). */
    private boolean busy;
    /** A request pipelined behind it (event loop only; at most one: nothing more is read). */
    private FullHttpRequest pending;

    /**
     * Reads what the request asks (on the event loop): answers it at once with {@link #refuse},
     * or hands it to {@link #launch}. The request is released after this returns.
     */
    protected abstract void start(ChannelHandlerContext ctx, FullHttpRequest req);

    /** Completes when the caller's connection closes. */
    protected final CompletableFuture<Void> gone() {
        return gone;
    }

    @Override
    public final void channelInactive(ChannelHandlerContext ctx) {
        gone.complete(null);
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    @Override
    protected final void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (busy) {
            pending = req.retain();
            return;
        }
        start(ctx, req);
    }

    /** Runs {@code exchange} on a virtual thread named {@code name}; it writes through a {@link Response} of this connection. */
    protected final void launch(ChannelHandlerContext ctx, String name, Runnable exchange) {
        busy = true;
        ctx.channel().config().setAutoRead(false);
        ctx.read(); // one read stays asked for: a caller that hangs up is seen at once, not at the next write
        Thread.ofVirtual().name(name).start(exchange);
    }

    /** The response of the exchange under way. */
    protected final Response response(ChannelHandlerContext ctx, boolean keepAlive) {
        return new Response(ctx, keepAlive);
    }

    /**
     * A streamed response: {@link #head} once, {@link #body} any number of times, {@link #end}
     * once, from one thread. The head is held until the body's first bytes come with it, the
     * end, or {@link #flush}: a small answer goes out as one write with a Content-Length.
     */
    protected final class Response {
        private final ChannelHandlerContext ctx;
        private final boolean keepAlive;
        /** The head and the body's first piece, not yet written. */
        private HttpResponse heldHead;
        private ByteBuf heldBody;
        private boolean headSent;
        private boolean ended;

        private Response(ChannelHandlerContext ctx, boolean keepAlive) {
            this.ctx = ctx;
            this.keepAlive = keepAlive;
        }

        /** Whether the head was written: after that, an error can only cut the response short. */
        public boolean headSent() {
            return headSent;
        }

        public void head(int status, Map<String, String> headers) {
            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
            headers.forEach((k, v) -> r.headers().set(k, v));
            HttpUtil.setKeepAlive(r, keepAlive);
            r.headers().set("x-accel-buffering", "no"); // a proxy in front must pass SSE events as they come
            heldHead = r;
        }

        /** Writes {@code bytes} (taking it over: it is released when written). */
        public void body(ByteBuf bytes) throws IOException {
            if (heldHead != null && heldBody == null) {
                heldBody = bytes;
                return;
            }
            writeHeld();
            write(ctx, new DefaultHttpContent(bytes));
        }

        /** Writes what is held: the exchange has nothing more at hand. */
        public void flush() throws IOException {
            if (heldHead != null) {
                writeHeld();
                ctx.flush();
            }
        }

        public void end() throws IOException {
            ended = true;
            if (heldHead != null) {
                // All of it at hand: one response of known length.
                ByteBuf content = heldBody != null ? heldBody : Unpooled.EMPTY_BUFFER;
                DefaultFullHttpResponse whole = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, heldHead.status(), content,
                        heldHead.headers(), EmptyHttpHeaders.INSTANCE);
                int status = whole.status().code();
                if (status >= 200 && status != 204) { // neither may carry a length (RFC 9110, 8.6)
                    HttpUtil.setContentLength(whole, content.readableBytes());
                }
                heldHead = null;
                heldBody = null;
                headSent = true;
                write(ctx, whole);
            } else {
                write(ctx, LastHttpContent.EMPTY_LAST_CONTENT);
            }
            if (keepAlive) {
                next(ctx); // the caller has its answer: its next request need not wait for anything after it
            }
        }

        /** Queues the held head (streamed: chunked) and first piece; the next write flushes them. */
        private void writeHeld() {
            if (heldHead == null) {
                return;
            }
            HttpUtil.setTransferEncodingChunked(heldHead, true);
            ctx.write(heldHead);
            if (heldBody != null) {
                ctx.write(new DefaultHttpContent(heldBody));
            }
            heldHead = null;
            heldBody = null;
            headSent = true;
        }

        /** After the exchange: a response cut short (or one that asked so) can only be ended by closing. */
        public void finish() {
            if (heldBody != null) {
                heldBody.release();
                heldBody = null;
            }
            if (!ended || !keepAlive) {
                ctx.close();
            }
        }

        /** Answers the whole exchange with an error (only before the head was written); the connection goes on. */
        public void error(HttpResponseStatus status, int code, String message) {
            heldHead = null;
            if (heldBody != null) {
                heldBody.release();
                heldBody = null;
            }
            ExchangeHandler.this.refuse(ctx, status, code, message, keepAlive, Map.of());
            next(ctx);
        }
    }

    /**
     * Answers a request before any exchange: a JSON-RPC error as the whole response, then reads
     * on (also after a pipelined request).
     */
    protected final void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, int code, String message, boolean keepAlive,
                                Map<String, String> headers) {
        String json = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":" + code + ",\"message\":\""
                + new String(JsonStringEncoder.getInstance().quoteAsString(message)) + "\"}}";
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        headers.forEach((k, v) -> r.headers().set(k, v));
        HttpUtil.setContentLength(r, r.content().readableBytes());
        HttpUtil.setKeepAlive(r, keepAlive);
        var f = ctx.writeAndFlush(r);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
        if (ctx.executor().inEventLoop() && !busy) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /**
     * The exchange is answered: on to the request pipelined meanwhile, or to reading again;
     * unless the front shut down meanwhile. At most once per exchange.
     */
    private void next(ChannelHandlerContext ctx) {
        if (ctx.executor().isShuttingDown()) {
            return;
        }
        try {
            ctx.executor().execute(() -> {
                if (!busy) {
                    return;
                }
                busy = false;
                FullHttpRequest queued = pending;
                pending = null;
                if (queued != null) {
                    try {
                        start(ctx, queued);
                    } finally {
                        queued.release();
                    }
                } else if (ctx.channel().isActive()) {
                    ctx.channel().config().setAutoRead(true);
                }
            });
        } catch (RejectedExecutionException e) {
            // the front began shutting down just now; its channels are closed with it
        }
    }

    /** Writes; past the connection's high-water mark, waits until the socket took this write. */
    private static void write(ChannelHandlerContext ctx, Object message) throws IOException {
        var f = ctx.writeAndFlush(message);
        if (ctx.channel().isWritable() && !f.isDone()) {
            return; // a failure shows as the connection closing, which cancels the exchange
        }
        try {
            if (!f.await(WRITE_STALL.toMillis())) {
                // A caller that keeps the connection but reads nothing would otherwise hold the exchange forever.
                ctx.close();
                throw new IOException("the MCP caller read nothing for " + WRITE_STALL.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (!f.isSuccess()) {
            throw new IOException("the MCP caller went away: " + f.cause());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
