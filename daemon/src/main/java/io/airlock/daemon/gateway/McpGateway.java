package io.airlock.daemon.gateway;

import io.airlock.core.config.McpConfig;
import io.airlock.httpfront.HttpFront;
import io.airlock.tunnel.mcp.McpTunnel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Semaphore;

/**
 * Listens for {@code mcp.gateway}: each request, routed by its Host to a server of
 * {@code mcp.servers}, becomes one exchange of a tunnel of its own (so that losing the control
 * link ends none of the gateway's sessions), bounded by {@code mcp.max_exchanges}.
 */
public final class McpGateway implements AutoCloseable {
    /** Largest request body read (each server's max_request_bytes is applied after). */
    static final int MAX_BODY = 16 << 20;

    private final HttpFront front;

    private McpGateway(HttpFront front) {
        this.front = front;
    }

    public static McpGateway start(McpConfig.Gateway config, McpTunnel tunnel, int maxExchanges) throws IOException {
        SslContext tls = null;
        if (config.tls() != null) {
            try {
                tls = SslContextBuilder.forServer(config.tls().certFile().toFile(), config.tls().keyFile().toFile()).build();
            } catch (IOException | RuntimeException e) {
                throw new IOException("mcp.gateway.tls: cannot use " + config.tls().certFile() + " and " + config.tls().keyFile() + ": "
                        + e.getMessage() + " (expected a PEM certificate chain and its PEM PKCS#8 key)", e);
            }
        }
        Semaphore exchanges = new Semaphore(maxExchanges);
        String scheme = tls != null ? "https" : "http";
        try {
            return new McpGateway(HttpFront.start(config.address(), tls, MAX_BODY,
                    () -> new GatewayHandler(tunnel, config.tunnelDomain(), scheme, exchanges)));
        } catch (IOException e) {
            throw new IOException("mcp.gateway.listen: " + e.getMessage(), e);
        }
    }

    public InetSocketAddress address() {
        return front.address();
    }

    @Override
    public void close() {
        front.close();
    }
}
