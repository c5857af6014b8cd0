package io.airlock.daemon.gateway;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpTunnel;
import io.airlock.tunnel.mcp.ResponseSink;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the gateway: each request is routed by its Host ({@code SERVER.DOMAIN}) and
 * run through the tunnel on a virtual thread, one at a time (HTTP/1.1; a pipelined request
 * waits). Written at the caller's pace; a caller that hangs up cancels the exchange, which the
 * upstream sees as its request closing.
 */
final class GatewayHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(GatewayHandler.class);
    private static final String METADATA_PREFIX = "/.well-known/oauth-protected-resource";
    /** How long a backed-up connection may take no bytes before the exchange is given up. */
    private static final Duration WRITE_STALL = Duration.ofSeconds(60);

    private final McpTunnel tunnel;
    private final String domain;
    private final String scheme;
    private final Semaphore exchanges;
    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    private boolean busy;
    private FullHttpRequest pending;

    GatewayHandler(McpTunnel tunnel, String domain, String scheme, Semaphore exchanges) {
        this.tunnel = tunnel;
        this.domain = domain;
        this.scheme = scheme;
        this.exchanges = exchanges;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        gone.complete(null);
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        if (busy) {
            pending = req.retain();
            return;
        }
        start(ctx, req);
    }

    private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String hostHeader = req.headers().get(HttpHeaderNames.HOST, "");
        String host = hostHeader.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
        String suffix = "." + domain;
        String server = host.endsWith(suffix) ? host.substring(0, host.length() - suffix.length()) : "";
        if (server.isEmpty() || server.contains(".")) {
            error(ctx, HttpResponseStatus.NOT_FOUND, "no MCP server at host '" + hostHeader + "' (expected SERVER." + domain
                    + ", SERVER a name of mcp.servers)", keepAlive);
            return;
        }
        if (!exchanges.tryAcquire()) {
            error(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "mcp.max_exchanges exchanges are under way; retry later", keepAlive);
            return;
        }
        String path = req.uri().replaceFirst("\\?.*$", "");
        boolean metadata = path.startsWith(METADATA_PREFIX);
        String publicUrl = scheme + "://" + hostHeader + (metadata ? path.substring(METADATA_PREFIX.length()) : path);
        Map<String, String> headers = new HashMap<>();
        req.headers().forEach(h -> headers.putIfAbsent(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
        String remote = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
        // Who the caller is, as the tunnel in front says; without it, the record still shows where the call came from.
        String agent = req.headers().get("airlock-caller-agent", "");
        McpRequest request = new McpRequest(server, metadata ? "GET" : req.method().name(), headers, ByteBufUtil.getBytes(req.content()),
                new McpRequest.Caller(req.headers().get("airlock-caller-user", ""), agent.isEmpty() ? "gateway:" + remote : agent,
                        req.headers().get("airlock-caller-session", "")), publicUrl, metadata);
        busy = true;
        ctx.channel().config().setAutoRead(false);
        ctx.read(); // a caller that hangs up is seen at once
        Thread.ofVirtual().name("mcp-gateway-" + server).start(() -> run(ctx, request, keepAlive));
    }

    private void run(ChannelHandlerContext ctx, McpRequest request, boolean keepAlive) {
        boolean[] ended = {false};
        ResponseSink sink = new ResponseSink() {
            @Override
            public void head(int status, Map<String, String> headers) throws IOException {
                HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
                headers.forEach((k, v) -> r.headers().set(k, v));
                HttpUtil.setTransferEncodingChunked(r, true);
                HttpUtil.setKeepAlive(r, keepAlive);
                r.headers().set("x-accel-buffering", "no");
                write(ctx, r);
            }

            @Override
            public void body(byte[] bytes, int offset, int length) throws IOException {
                write(ctx, new DefaultHttpContent(Unpooled.copiedBuffer(bytes, offset, length))); // the caller's buffer is reused
            }

            @Override
            public void end() throws IOException {
                ended[0] = true;
                write(ctx, LastHttpContent.EMPTY_LAST_CONTENT);
                if (keepAlive) {
                    next(ctx);
                }
            }

            @Override
            public void onCancel(Runnable action) {
                gone.whenComplete((v, t) -> action.run());
            }
        };
        try {
            tunnel.exchange(request, sink);
        } catch (IOException e) {
            log.debug("MCP gateway: exchange with {} broke: {}", request.server(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("MCP gateway: exchange with {} failed", request.server(), e);
        } finally {
            exchanges.release();
        }
        if (!ended[0] || !keepAlive) {
            ctx.close(); // a response cut short can only be ended by closing
        }
    }

    /** On to the pipelined request, or to reading again (once per exchange). */
    private void next(ChannelHandlerContext ctx) {
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
            // shutting down; the channel closes with the gateway
        }
    }

    /** Writes; past the high-water mark, waits until the socket took it, so the caller's pace is the stream's. */
    private static void write(ChannelHandlerContext ctx, Object message) throws IOException {
        var f = ctx.writeAndFlush(message);
        if (ctx.channel().isWritable() && !f.isDone()) {
            return;
        }
        try {
            if (!f.await(WRITE_STALL.toMillis())) {
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

    private static void error(ChannelHandlerContext ctx, HttpResponseStatus status, String message, boolean keepAlive) {
        String json = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\""
                + new String(JsonStringEncoder.getInstance().quoteAsString(message)) + "\"}}";
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        HttpUtil.setContentLength(r, r.content().readableBytes());
        HttpUtil.setKeepAlive(r, keepAlive);
        var f = ctx.writeAndFlush(r);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
