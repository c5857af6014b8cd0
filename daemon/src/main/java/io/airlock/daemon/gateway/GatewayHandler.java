package io.airlock.daemon.gateway;

import io.airlock.httpfront.ExchangeHandler;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpTunnel;
import io.airlock.tunnel.mcp.ResponseSink;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the gateway: each request is routed by its Host ({@code SERVER.DOMAIN}) and
 * run through the tunnel ({@link ExchangeHandler} runs it, one at a time, at the caller's pace,
 * cancelled when the caller hangs up).
 */
final class GatewayHandler extends ExchangeHandler {
    private static final Logger log = LoggerFactory.getLogger(GatewayHandler.class);
    private static final String METADATA_PREFIX = "/.well-known/oauth-protected-resource";

    private final McpTunnel tunnel;
    private final String domain;
    private final String scheme;
    private final Semaphore exchanges;

    GatewayHandler(McpTunnel tunnel, String domain, String scheme, Semaphore exchanges) {
        this.tunnel = tunnel;
        this.domain = domain;
        this.scheme = scheme;
        this.exchanges = exchanges;
    }

    @Override
    protected void start(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String hostHeader = req.headers().get(HttpHeaderNames.HOST, "");
        String host = hostHeader.replaceFirst(":\\d+$", "").toLowerCase(Locale.ROOT);
        String suffix = "." + domain;
        String server = host.endsWith(suffix) ? host.substring(0, host.length() - suffix.length()) : "";
        if (server.isEmpty() || server.contains(".")) {
            refuse(ctx, HttpResponseStatus.NOT_FOUND, -32600, "no MCP server at host '" + hostHeader + "' (expected SERVER." + domain
                    + ", SERVER a name of mcp.servers)", keepAlive, Map.of());
            return;
        }
        if (!exchanges.tryAcquire()) {
            refuse(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, -32011, "mcp.max_exchanges exchanges are under way; retry later", keepAlive,
                    Map.of("retry-after", "1"));
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
        Response response = response(ctx, keepAlive);
        launch(ctx, "mcp-gateway-" + server, () -> run(request, response));
    }

    private void run(McpRequest request, Response out) {
        ResponseSink sink = new ResponseSink() {
            @Override
            public void head(int status, Map<String, String> headers) throws IOException {
                out.head(status, headers);
            }

            @Override
            public void body(byte[] bytes, int offset, int length) throws IOException {
                out.body(Unpooled.copiedBuffer(bytes, offset, length)); // the tunnel reuses its buffer
            }

            @Override
            public void body(ByteBuffer owned) throws IOException {
                out.body(Unpooled.wrappedBuffer(owned)); // the upstream's own read: written as it is
            }

            @Override
            public void flush() throws IOException {
                out.flush();
            }

            @Override
            public void end() throws IOException {
                out.end();
            }

            @Override
            public void onCancel(Runnable action) {
                gone().whenComplete((v, t) -> action.run());
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
        out.finish();
    }
}
