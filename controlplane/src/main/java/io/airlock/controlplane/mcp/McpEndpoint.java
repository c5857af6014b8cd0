package io.airlock.controlplane.mcp;

import io.airlock.controlplane.gateway.AgentClient;
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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The reference control plane's door to agents' private MCP servers: every server of every
 * connected agent at {@code http://HOST:PORT/mcp/AGENT/SERVER}, speaking MCP's Streamable HTTP,
 * so any MCP client works unchanged. Loopback only; callers present the admin token as a
 * bearer token (a real control plane authenticates its users its own way) and may say who they
 * act for in {@code Airlock-Caller-User}, {@code -Agent} and {@code -Session}, which the agent
 * turns into a signed token for the server.
 */
public final class McpEndpoint implements AutoCloseable {
    /** Largest request body accepted (agents apply their own, usually smaller, limit per server). */
    static final int MAX_BODY = 16 << 20;

    private final EventLoopGroup group;
    private final Channel channel;

    private McpEndpoint(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** @param bearerToken what callers must send as {@code Authorization: Bearer ...}; null for no check (tests) */
    public static McpEndpoint start(AgentClient agents, InetSocketAddress listen, String bearerToken) throws IOException {
        if (!listen.getAddress().isLoopbackAddress()) {
            throw new IOException("the MCP endpoint listens on loopback only (got " + listen + ")");
        }
        // Native epoll where it loads (Linux): fewer copies and system calls per byte than NIO.
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY),
                                    new McpHttpHandler(agents, bearerToken));
                        }
                    })
                    .bind(listen).sync().channel();
            return new McpEndpoint(group, ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IOException("interrupted while binding " + listen);
        } catch (RuntimeException e) {
            group.shutdownGracefully();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** The URL of one agent's server. */
    public String url(String agentId, String server) {
        return "http://127.0.0.1:" + port() + "/mcp/" + agentId + "/" + server;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
