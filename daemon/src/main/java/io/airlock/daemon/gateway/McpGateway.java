package io.airlock.daemon.gateway;

import io.airlock.core.config.McpConfig;
import io.airlock.tunnel.mcp.McpTunnel;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Listens for {@code mcp.gateway}: each request, routed by its Host to a server of
 * {@code mcp.servers}, becomes one exchange of a tunnel of its own (so that losing the control
 * link ends none of the gateway's sessions), bounded by {@code mcp.max_exchanges}.
 */
public final class McpGateway implements AutoCloseable {
    /** Largest request body read (each server's max_request_bytes is applied after). */
    static final int MAX_BODY = 16 << 20;

    private final EventLoopGroup group;
    private final Channel channel;

    private McpGateway(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
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
        InetSocketAddress listen = config.address();
        Semaphore exchanges = new Semaphore(maxExchanges);
        SslContext ssl = tls;
        // Native epoll where it loads (Linux): fewer copies and system calls per byte than NIO.
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            if (ssl != null) {
                                c.pipeline().addLast(ssl.newHandler(c.alloc()));
                            }
                            c.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY),
                                    new GatewayHandler(tunnel, config.tunnelDomain(), ssl != null ? "https" : "http", exchanges));
                        }
                    })
                    .bind(listen).sync().channel();
            return new McpGateway(group, ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IOException("interrupted while binding " + listen);
        } catch (RuntimeException e) {
            group.shutdownGracefully();
            throw new IOException("mcp.gateway.listen: cannot listen on " + listen + ": " + e.getMessage(), e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
