package io.airlock.core.egress;

import io.airlock.tunnel.net.IpLiterals;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client connection of the proxy: reads the request head, decides (sandbox, name and port,
 * then every resolved address), dials, and turns into a relay. A CONNECT becomes a byte tunnel;
 * a plain-HTTP request is forwarded in origin form with {@code Connection: close}, one request
 * per connection, so every request is decided on its own. Refusals are HTTP errors carrying a
 * {@code Proxy-Status} header (RFC 9209) and a body that names the rule or the reason.
 */
final class ProxyRequestHandler extends ChannelInboundHandlerAdapter {
    /** Body parts that may arrive with the head before the upstream is connected; more closes the connection. */
    private static final int MAX_PENDING = 64;

    private final EgressProxy proxy;
    private final String sandboxId;
    private final String peer;
    private final long startNanos = System.nanoTime();
    private final AtomicLong bytesUp = new AtomicLong();
    private final AtomicLong bytesDown = new AtomicLong();
    private final ArrayDeque<HttpContent> pending = new ArrayDeque<>();
    private HttpRequest request;
    private Channel upstream;
    private boolean requestDone;
    /** Set by the one report this connection gets (see {@link #report}). */
    private final AtomicBoolean reported = new AtomicBoolean();
    /** How far the proxy got, for the record of a connection its client abandons: what it was doing, and where. */
    private String stage = "before sending a complete request head";
    private String host = "";
    private int port;
    private String dialled = "";
    private String allowedBy = "";

    ProxyRequestHandler(EgressProxy proxy, String sandboxId, String peer) {
        this.proxy = proxy;
        this.sandboxId = sandboxId;
        this.peer = peer;
    }

    /** Every accepted connection gets exactly one record: one whose client left before any other report is abandoned. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.channel().closeFuture().addListener(f -> {
            if (upstream == null) {
                report(new EgressOutcome(sandboxId == null ? "" : sandboxId, request == null ? "" : request.method().name(), host, port,
                        dialled, allowedBy, EgressOutcome.Decision.ABANDONED, "the client went away " + stage, bytesUp.get(), 0, elapsedMs()));
            }
        });
    }

    private void report(EgressOutcome outcome) {
        if (reported.compareAndSet(false, true)) {
            proxy.report(outcome);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (request == null) {
            if (!(msg instanceof HttpRequest req)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            request = req;
            ctx.channel().config().setAutoRead(false);
            ctx.pipeline().remove(EgressProxy.HEAD_TIMEOUT);
            decide(ctx, req);
            return;
        }
        if (!(msg instanceof HttpContent content) || requestDone || request.method().equals(HttpMethod.CONNECT)) {
            ReferenceCountUtil.release(msg); // CONNECT's empty body, or anything after the one forwarded request
            return;
        }
        requestDone = msg instanceof LastHttpContent;
        if (upstream == null) {
            pending.add(content);
            if (pending.size() > MAX_PENDING) {
                ctx.close();
            }
            return;
        }
        upstream.writeAndFlush(content).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        if (!upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstream != null && ctx.channel().isWritable()) {
            upstream.config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        pending.forEach(ReferenceCountUtil::release);
        pending.clear();
        if (upstream != null) {
            Relay.closeAfterFlush(upstream);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close(); // a read timeout before the head arrived, or the client vanished
    }

    private void decide(ChannelHandlerContext ctx, HttpRequest req) {
        String method = req.method().name();
        if (!req.decoderResult().isSuccess()) {
            refuse(ctx, method, "", 0, "", 400, "Bad Request", "http_request_error",
                    "malformed request (" + req.decoderResult().cause().getMessage() + "; expected an HTTP/1.1 proxy request)");
            return;
        }
        ProxyTarget target;
        try {
            target = ProxyTarget.of(req);
        } catch (ProxyTarget.BadTarget e) {
            refuse(ctx, method, "", 0, "", 400, "Bad Request", "http_request_error", e.getMessage());
            return;
        }
        host = target.host();
        port = target.port();
        stage = "while the proxy checked its request";
        if (sandboxId == null) {
            refuse(ctx, method, target.host(), target.port(), "", 403, "Forbidden", "http_request_denied",
                    "this connection (from " + peer + ") belongs to no sandbox");
            return;
        }
        EgressPolicy policy = proxy.policyOf(sandboxId);
        EgressPolicy.Decision byName = policy.checkHost(target.host(), target.port());
        Optional<InetAddress> literal = IpLiterals.parse(target.host());
        if (!byName.allowed()) {
            refuse(ctx, method, target.host(), target.port(), literal.map(InetAddress::getHostAddress).orElse(""), 403, "Forbidden",
                    literal.isPresent() ? "destination_ip_prohibited" : "http_request_denied", byName.reason());
            return;
        }
        allowedBy = byName.rule().toString();
        if (literal.isPresent()) {
            connect(ctx, target, byName, List.of(literal.get()));
            return;
        }
        stage = "while the proxy resolved " + target.host();
        proxy.resolver().resolveAll(target.host()).addListener(f -> ctx.executor().execute(() -> {
            if (!ctx.channel().isActive()) {
                return;
            }
            if (!f.isSuccess()) {
                refuse(ctx, method, target.host(), target.port(), "", 502, "Bad Gateway", "dns_error",
                        "cannot resolve " + target.host() + " (" + f.cause().getMessage() + ")");
                return;
            }
            @SuppressWarnings("unchecked")
            List<InetAddress> addresses = (List<InetAddress>) f.getNow();
            for (InetAddress a : addresses) {
                EgressPolicy.Decision d = policy.checkAddress(a, target.port(), byName.rule());
                if (!d.allowed()) {
                    refuse(ctx, method, target.host(), target.port(), a.getHostAddress(), 403, "Forbidden", "destination_ip_prohibited",
                            target.host() + ": " + d.reason());
                    return;
                }
            }
            connect(ctx, target, byName, addresses);
        }));
    }

    private void connect(ChannelHandlerContext ctx, ProxyTarget target, EgressPolicy.Decision decision, List<InetAddress> addresses) {
        String method = request.method().name();
        if (!proxy.acquireSlot(sandboxId)) {
            refuse(ctx, method, target.host(), target.port(), "", 429, "Too Many Requests", "connection_limit_reached",
                    "sandbox " + sandboxId + " holds " + proxy.settings().maxConnectionsPerSandbox()
                            + " open connections, the most policy.egress.max_connections_per_sandbox allows");
            return;
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable release = () -> {
            if (released.compareAndSet(false, true)) {
                proxy.releaseSlot(sandboxId);
            }
        };
        ctx.channel().closeFuture().addListener(f -> {
            if (upstream == null) {
                release.run(); // the client left while we were dialling
            }
        });
        dial(ctx, target, decision, addresses, 0, release);
    }

    private void dial(ChannelHandlerContext ctx, ProxyTarget target, EgressPolicy.Decision decision, List<InetAddress> addresses, int index,
            Runnable release) {
        InetAddress address = addresses.get(index);
        dialled = address.getHostAddress();
        stage = "while the proxy dialled " + dialled + ":" + target.port() + (index > 0 ? " (address " + (index + 1) + " of " + addresses.size() + ")" : "");
        Channel client = ctx.channel();
        Bootstrap b = new Bootstrap().group(client.eventLoop()).channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) proxy.settings().connectTimeout().toMillis())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, EgressProxy.WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, proxy.settings().idleTimeout().toSeconds(), TimeUnit.SECONDS));
                    }
                });
        ChannelFuture cf = b.connect(new InetSocketAddress(address, target.port()));
        cf.addListener(f -> {
            if (!client.isActive()) {
                cf.channel().close();
                release.run();
                return;
            }
            if (!f.isSuccess()) {
                if (index + 1 < addresses.size()) {
                    dial(ctx, target, decision, addresses, index + 1, release);
                    return;
                }
                release.run();
                boolean timeout = f.cause() instanceof ConnectTimeoutException;
                refuseAllowed(ctx, target, address, decision, timeout ? 504 : 502, timeout ? "Gateway Timeout" : "Bad Gateway",
                        timeout ? "connection_timeout" : "connection_refused",
                        "cannot connect to " + target.host() + " (" + address.getHostAddress() + ":" + target.port() + "): " + f.cause().getMessage());
                return;
            }
            established(ctx, cf.channel(), target, decision, address, release);
        });
    }

    private void established(ChannelHandlerContext ctx, Channel up, ProxyTarget target, EgressPolicy.Decision decision, InetAddress address,
            Runnable release) {
        this.upstream = up;
        Channel client = ctx.channel();
        ChannelFutureListener finished = f -> {
            if (!client.isOpen() && !up.isOpen()) {
                release.run();
                report(new EgressOutcome(sandboxId, request.method().name(), target.host(), target.port(), address.getHostAddress(),
                        decision.rule().toString(), EgressOutcome.Decision.ALLOW, "", bytesUp.get(), bytesDown.get(), elapsedMs()));
            }
        };
        client.closeFuture().addListener(finished);
        up.closeFuture().addListener(finished);
        up.pipeline().addLast(new Relay(client, bytesDown));
        if (request.method().equals(HttpMethod.CONNECT)) {
            client.pipeline().addLast(new Relay(up, bytesUp));
            client.writeAndFlush(Unpooled.copiedBuffer("HTTP/1.1 200 Connection established\r\n\r\n", StandardCharsets.US_ASCII));
            // Bytes the client sent after the head (a TLS ClientHello) leave the decoder for the relay.
            client.pipeline().remove(this);
            client.pipeline().remove(EgressProxy.DECODER);
        } else {
            up.pipeline().addFirst(new HttpRequestEncoder());
            // Counted as encoded: the request line and headers go up too, not only the body.
            up.pipeline().addFirst(new SentBytes(bytesUp));
            up.writeAndFlush(originForm(request, target)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            while (!pending.isEmpty()) {
                HttpContent c = pending.poll();
                up.writeAndFlush(c).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
            }
        }
        up.config().setAutoRead(true);
        client.config().setAutoRead(true);
    }

    /** The request as the origin server expects it: origin-form target, hop-by-hop headers gone, one request only. */
    private static HttpRequest originForm(HttpRequest req, ProxyTarget target) {
        HttpHeaders h = req.headers().copy();
        for (String named : h.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : named.split(",")) {
                h.remove(token.strip());
            }
        }
        for (CharSequence hop : List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_AUTHORIZATION,
                HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, "Proxy-Connection")) {
            h.remove(hop);
        }
        if (!h.contains(HttpHeaderNames.HOST)) {
            h.set(HttpHeaderNames.HOST, target.port() == 80 ? target.host() : target.host() + ":" + target.port());
        }
        h.set(HttpHeaderNames.CONNECTION, "close");
        return new DefaultHttpRequest(req.protocolVersion(), req.method(), target.path(), h);
    }

    private long elapsedMs() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    private void refuseAllowed(ChannelHandlerContext ctx, ProxyTarget target, InetAddress address, EgressPolicy.Decision decision, int status,
            String phrase, String error, String message) {
        report(new EgressOutcome(sandboxId, request.method().name(), target.host(), target.port(), address.getHostAddress(),
                decision.rule().toString(), EgressOutcome.Decision.ALLOW, message, 0, 0, elapsedMs()));
        respond(ctx, status, phrase, error, message);
    }

    private void refuse(ChannelHandlerContext ctx, String method, String host, int port, String address, int status, String phrase,
            String error, String message) {
        report(new EgressOutcome(sandboxId == null ? "" : sandboxId, method, host, port, address, "", EgressOutcome.Decision.DENY, message, 0, 0,
                elapsedMs()));
        respond(ctx, status, phrase, error, message);
    }

    private static void respond(ChannelHandlerContext ctx, int status, String phrase, String error, String message) {
        byte[] body = ("airlock egress proxy: " + message + "\n").getBytes(StandardCharsets.UTF_8);
        String details = message.replaceAll("[\"\\\\\\r\\n]", "'");
        String head = "HTTP/1.1 " + status + " " + phrase + "\r\n"
                + "Proxy-Status: airlock-egress; error=" + error + "; details=\"" + details + "\"\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + "Connection: close\r\n\r\n";
        ByteBuf out = Unpooled.buffer(head.length() + body.length);
        out.writeBytes(head.getBytes(StandardCharsets.UTF_8)).writeBytes(body);
        ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
}
