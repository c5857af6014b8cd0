package io.airlock.controlplane.mcp;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.google.protobuf.ByteString;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.McpCaller;
import io.airlock.proto.v1.McpExchange;
import io.netty.buffer.ByteBufInputStream;
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
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * One caller connection: each request becomes an McpExchange command to the agent, run on a
 * virtual thread (one exchange at a time per connection, as HTTP/1.1 has it: a pipelined
 * request waits, and no more is read meanwhile). The response is written as the agent's frames
 * arrive, each write waiting until the socket took the previous one, so a slow caller slows the
 * agent's stream rather than filling memory; a caller that hangs up cancels the exchange, which
 * reaches the upstream as its request closing (revision 2026-07-28's cancel).
 */
final class McpHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final int INLINE_BODY = 64 * 1024;
    private static final Duration POST_TIMEOUT = Duration.ofMinutes(15);
    private static final Duration STREAM_TIMEOUT = Duration.ofHours(24);
    /** How long a backed-up connection may take no bytes before the exchange is given up. */
    private static final Duration WRITE_STALL = Duration.ofSeconds(60);
    /** Streamable HTTP's headers (both revisions; and any mcp-param-*), passed to the agent. */
    private static final Set<String> FORWARDED = Set.of("accept", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id",
            "mcp-method", "mcp-name");
    /** Where callers may put the admin token so that Authorization stays free for an upstream's own OAuth token. */
    static final String ADMIN_TOKEN_HEADER = "airlock-admin-token";
    private static final String METADATA_PREFIX = "/.well-known/oauth-protected-resource";

    private final AgentClient agents;
    private final byte[] token;
    private final CompletableFuture<Void> gone = new CompletableFuture<>();
    /** An exchange of this connection is under way (event loop only). */
    private boolean busy;
    /** A request the caller pipelined behind the running exchange (event loop only; at most one: nothing more is read). */
    private FullHttpRequest pending;

    McpHttpHandler(AgentClient agents, String bearerToken) {
        this.agents = agents;
        this.token = bearerToken == null ? null : ("Bearer " + bearerToken).getBytes(StandardCharsets.UTF_8);
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
        String uriPath = req.uri().replaceFirst("\\?.*$", "");
        boolean metadata = uriPath.startsWith(METADATA_PREFIX + "/");
        String[] path = (metadata ? uriPath.substring(METADATA_PREFIX.length()) : uriPath).split("/");
        if (path.length != 4 || !path[1].equals("mcp") || path[2].isEmpty() || path[3].isEmpty()) {
            error(ctx, HttpResponseStatus.NOT_FOUND, -32600, "no such endpoint: " + req.uri() + " (expected /mcp/AGENT_ID/SERVER, or "
                    + METADATA_PREFIX + "/mcp/AGENT_ID/SERVER for its OAuth metadata)", keepAlive);
            ctx.channel().config().setAutoRead(true); // also after a pipelined request
            return;
        }
        // RFC 9728's metadata is public: an OAuth client fetches it before it has any credential.
        String adminHeader = req.headers().get(ADMIN_TOKEN_HEADER);
        boolean tokenInOwnHeader = adminHeader != null;
        byte[] presented = (tokenInOwnHeader ? "Bearer " + adminHeader : req.headers().get(HttpHeaderNames.AUTHORIZATION, ""))
                .getBytes(StandardCharsets.UTF_8);
        if (!metadata && token != null && !MessageDigest.isEqual(token, presented)) {
            error(ctx, HttpResponseStatus.UNAUTHORIZED, -32600, "missing or wrong admin token (expected the control plane's admin token in "
                    + "Airlock-Admin-Token, or as Authorization: Bearer when the MCP server does not want the caller's own token)", keepAlive);
            ctx.channel().config().setAutoRead(true);
            return;
        }
        String method = metadata ? "GET" : req.method().name();
        McpExchange.Builder x = McpExchange.newBuilder().setServer(path[3]).setMethod(method)
                .setPublicUrl(publicUrl(ctx, path[2], path[3])).setResourceMetadata(metadata)
                .setCaller(McpCaller.newBuilder().setUser(req.headers().get("airlock-caller-user", ""))
                        .setAgent(req.headers().get("airlock-caller-agent", "")).setSession(req.headers().get("airlock-caller-session", "")));
        for (Map.Entry<String, String> h : req.headers()) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            // The caller's Authorization is the upstream's business, unless it carried our admin token.
            boolean callerToken = name.equals("authorization") && (tokenInOwnHeader || token == null);
            if (!metadata && (FORWARDED.contains(name) || name.startsWith("mcp-param-") || callerToken)) {
                x.putHeaders(name, h.getValue());
            }
        }
        int size = req.content().readableBytes();
        InputStream streamed = null;
        if (size <= INLINE_BODY) {
            x.setBody(ByteString.copyFrom(req.content().nioBuffer()));
        } else {
            x.setBodyOnStream(true);
            streamed = new ByteBufInputStream(req.content().retainedDuplicate(), true);
        }
        String agent = path[2];
        InputStream body = streamed;
        busy = true;
        ctx.channel().config().setAutoRead(false);
        // One read stays asked for: a caller that hangs up is seen at once (its exchange cancelled), not at the next write.
        ctx.read();
        Thread.ofVirtual().name("mcp-" + agent + "-" + path[3]).start(() -> run(ctx, agent, x.build(), body, keepAlive));
    }

    private void run(ChannelHandlerContext ctx, String agent, McpExchange x, InputStream body, boolean keepAlive) {
        boolean[] headSent = {false};
        boolean[] ended = {false};
        AgentClient.McpResponse response = new AgentClient.McpResponse() {
            @Override
            public void head(int status, Map<String, String> headers) throws IOException {
                HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
                headers.forEach((k, v) -> r.headers().set(k, v));
                HttpUtil.setTransferEncodingChunked(r, true);
                HttpUtil.setKeepAlive(r, keepAlive);
                r.headers().set("x-accel-buffering", "no"); // a proxy in front must pass SSE events as they come
                headSent[0] = true;
                write(ctx, r);
            }

            @Override
            public void body(ByteString bytes) throws IOException {
                write(ctx, new DefaultHttpContent(Unpooled.wrappedBuffer(bytes.asReadOnlyByteBuffer())));
            }

            @Override
            public void end() throws IOException {
                ended[0] = true;
                write(ctx, LastHttpContent.EMPTY_LAST_CONTENT);
                if (keepAlive) {
                    // The caller has its answer: its next request need not wait for this exchange's result (and audit) to arrive.
                    next(ctx);
                }
            }
        };
        try (InputStream releasedAtEnd = body) {
            // Closing the streamed body releases the request buffer it holds, also when the exchange failed before reading it.
            agents.mcp(agent, x, body, response, gone, x.getMethod().equals("POST") ? POST_TIMEOUT : STREAM_TIMEOUT);
        } catch (IOException e) {
            // closing a buffer's stream does not fail
        } catch (CommandFailedException e) {
            if (!headSent[0]) {
                error(ctx, status(e.error().getCode()), -32603, e.error().getMessage(), keepAlive);
                next(ctx);
                return;
            }
        } catch (RuntimeException e) {
            if (!headSent[0]) {
                error(ctx, HttpResponseStatus.BAD_GATEWAY, -32603, "the exchange failed: " + e.getMessage(), keepAlive);
                next(ctx);
                return;
            }
        }
        if (!ended[0] || !keepAlive) {
            ctx.close(); // a response cut short can only be ended by closing
        }
    }

    /**
     * The exchange is answered: on to the request the caller pipelined meanwhile, or to reading
     * again; unless the endpoint shut down while this exchange ran. Runs at most once per exchange.
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
            // the endpoint began shutting down just now; its channels are closed with it
        }
    }

    /** Where the caller reaches an agent's server here: what its OAuth metadata is moved to. */
    private static String publicUrl(ChannelHandlerContext ctx, String agent, String server) {
        InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
        return "http://" + local.getAddress().getHostAddress() + ":" + local.getPort() + "/mcp/" + agent + "/" + server;
    }

    /**
     * Writes; when the connection's outbound buffer is past its high-water mark, waits until the
     * socket took this write: the caller's pace is the stream's pace, without a wait per frame.
     */
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

    private static HttpResponseStatus status(ErrorCode code) {
        return switch (code) {
            case INVALID_ARGUMENT -> HttpResponseStatus.BAD_REQUEST;
            case NOT_FOUND -> HttpResponseStatus.NOT_FOUND;
            case POLICY_DENIED -> HttpResponseStatus.FORBIDDEN;
            case RESOURCE_EXHAUSTED -> HttpResponseStatus.TOO_MANY_REQUESTS;
            case DEADLINE_EXCEEDED -> HttpResponseStatus.GATEWAY_TIMEOUT;
            case UNAVAILABLE, DRAINING -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            default -> HttpResponseStatus.BAD_GATEWAY;
        };
    }

    /** A JSON-RPC error as the whole response. */
    private static void error(ChannelHandlerContext ctx, HttpResponseStatus status, int code, String message, boolean keepAlive) {
        String json = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":" + code + ",\"message\":" + quote(message) + "}}";
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(json, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        HttpUtil.setContentLength(r, r.content().readableBytes());
        if (status == HttpResponseStatus.UNAUTHORIZED) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        HttpUtil.setKeepAlive(r, keepAlive);
        var f = ctx.writeAndFlush(r);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static String quote(String s) {
        return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
