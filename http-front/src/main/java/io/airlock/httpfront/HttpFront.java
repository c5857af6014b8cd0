package io.airlock.httpfront;

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
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/** A listening HTTP/1.1 (or HTTPS) server whose every connection gets a handler of its own. */
public final class HttpFront implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;

    private HttpFront(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /**
     * @param tls      null for plain HTTP
     * @param maxBody  largest request body read
     * @param handlers a new handler per connection
     */
    public static HttpFront start(InetSocketAddress listen, SslContext tls, int maxBody, Supplier<ExchangeHandler> handlers) throws IOException {
        // Native epoll where it loads (Linux): fewer copies and system calls per byte than NIO.
        boolean epoll = Epoll.isAvailable();
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        try {
            Channel ch = new ServerBootstrap().group(group).channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            if (tls != null) {
                                c.pipeline().addLast(tls.newHandler(c.alloc()));
                            }
                            c.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(maxBody), handlers.get());
                        }
                    })
                    .bind(listen).sync().channel();
            return new HttpFront(group, ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            group.shutdownGracefully();
            throw new IOException("interrupted while binding " + listen);
        } catch (RuntimeException e) {
            group.shutdownGracefully();
            throw new IOException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
    }

    private final AtomicBoolean closed = new AtomicBoolean();

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Stops listening and ends open connections; a second close does nothing. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
