package io.airlock.core.egress;

import io.airlock.driver.EgressPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's egress proxy: an HTTP forward proxy (CONNECT and plain HTTP) on the addresses
 * the drivers choose, deciding every connection against its sandbox's allowlist. It resolves
 * and dials names itself, so a sandbox needs neither a route out nor a resolver.
 */
public final class EgressProxy implements EgressPort, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EgressProxy.class);
    static final String HEAD_TIMEOUT = "head-timeout";
    static final String DECODER = "decoder";
    /** Per-connection outbound buffer bounds: past the high mark the other side stops reading. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);
    /** How long a client may take to send its request head. */
    private static final int HEAD_TIMEOUT_SECONDS = 30;

    private final ProxySettings settings;
    private final Function<String, EgressPolicy> policies;
    private final Consumer<EgressOutcome> outcomes;
    private final EventLoopGroup group;
    private final EgressResolver resolver;
    private final Map<String, AtomicInteger> open = new ConcurrentHashMap<>();

    private EgressProxy(ProxySettings settings, Function<String, EgressPolicy> policies, Consumer<EgressOutcome> outcomes) {
        this.settings = settings;
        this.policies = policies;
        this.outcomes = outcomes;
        this.group = new EpollEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()),
                Thread.ofPlatform().name("egress-", 0).daemon().factory());
        this.resolver = new EgressResolver(group.next(), settings.resolvers(), settings.connectTimeout());
    }

    /**
     * @param policies each sandbox's allowlist, asked per request (so a live update applies to the next connection)
     * @param outcomes every refused connection at once, every allowed one when it closes (must not block)
     */
    public static EgressProxy start(ProxySettings settings, Function<String, EgressPolicy> policies, Consumer<EgressOutcome> outcomes) {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("the egress proxy needs Netty's epoll transport, which cannot load here ("
                    + Epoll.unavailabilityCause() + "); policy.egress needs Linux on x86_64");
        }
        return new EgressProxy(settings, policies, outcomes);
    }

    ProxySettings settings() {
        return settings;
    }

    EgressResolver resolver() {
        return resolver;
    }

    EgressPolicy policyOf(String sandboxId) {
        return policies.apply(sandboxId);
    }

    void report(EgressOutcome outcome) {
        try {
            outcomes.accept(outcome);
        } catch (RuntimeException e) {
            log.error("cannot record egress outcome {}: {}", outcome, e.toString());
        }
    }

    /** Takes one of the sandbox's connection slots; false when all are held. */
    boolean acquireSlot(String sandboxId) {
        boolean[] taken = {false};
        open.compute(sandboxId, (k, n) -> {
            int held = n == null ? 0 : n.get();
            if (held >= settings.maxConnectionsPerSandbox()) {
                return n;
            }
            taken[0] = true;
            return new AtomicInteger(held + 1);
        });
        return taken[0];
    }

    /** Gives a slot back; a sandbox holding none has no entry, so the map never outgrows the open connections. */
    void releaseSlot(String sandboxId) {
        open.computeIfPresent(sandboxId, (k, n) -> n.get() <= 1 ? null : new AtomicInteger(n.get() - 1));
    }

    /** Open proxied connections of a sandbox (for /status and tests). */
    public int openConnections(String sandboxId) {
        AtomicInteger n = open.get(sandboxId);
        return n == null ? 0 : n.get();
    }

    @Override
    public int port() {
        return settings.proxyPort();
    }

    @Override
    public Listener listenTcp(InetSocketAddress address, Function<InetAddress, Optional<String>> sandboxOfPeer) throws IOException {
        return bind(EpollServerSocketChannel.class, address, ch -> {
            InetAddress peer = ((InetSocketAddress) ch.remoteAddress()).getAddress();
            return new ProxyRequestHandler(this, sandboxOfPeer.apply(peer).orElse(null), peer.getHostAddress());
        });
    }

    @Override
    public Listener listenUnix(Path socket, String sandboxId) throws IOException {
        Files.deleteIfExists(socket); // left by a previous daemon: binding needs the name free
        return bind(EpollServerDomainSocketChannel.class, new DomainSocketAddress(socket.toFile()),
                ch -> new ProxyRequestHandler(this, sandboxId, "unix socket " + socket));
    }

    private Listener bind(Class<? extends ServerChannel> type, SocketAddress address,
            Function<Channel, ProxyRequestHandler> handler) throws IOException {
        ServerBootstrap b = new ServerBootstrap().group(group).channel(type)
                .childOption(ChannelOption.AUTO_READ, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(HEAD_TIMEOUT, new ReadTimeoutHandler(HEAD_TIMEOUT_SECONDS))
                                .addLast(new IdleStateHandler(0, 0, settings.idleTimeout().toSeconds(), TimeUnit.SECONDS))
                                .addLast(DECODER, new HttpRequestDecoder(8192, 16384, 65536))
                                .addLast(handler.apply(ch));
                    }
                });
        Channel server;
        try {
            server = b.bind(address).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while binding the egress proxy to " + address);
        } catch (Exception e) {
            throw new IOException("cannot listen on " + address + " for the egress proxy: " + e.getMessage(), e);
        }
        log.info("egress proxy listening on {}", address);
        return () -> server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        resolver.close();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
