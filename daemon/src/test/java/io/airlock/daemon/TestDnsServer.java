package io.airlock.daemon;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A DNS server on loopback answering A queries from a table (TTL 0, so every lookup asks again),
 * NXDOMAIN for anything else. It lets a test decide what a name resolves to, rebinding included.
 */
final class TestDnsServer implements AutoCloseable {
    private final Map<String, InetAddress> answers = new ConcurrentHashMap<>();
    private final java.util.Set<String> silent = ConcurrentHashMap.newKeySet();
    final List<String> queries = new CopyOnWriteArrayList<>();
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel channel;

    TestDnsServer() throws InterruptedException {
        channel = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(new ChannelInitializer<NioDatagramChannel>() {
            @Override
            protected void initChannel(NioDatagramChannel ch) {
                ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(), new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery query) {
                        DnsQuestion q = query.recordAt(DnsSection.QUESTION);
                        String name = q.name().endsWith(".") ? q.name().substring(0, q.name().length() - 1) : q.name();
                        queries.add(name);
                        if (silent.contains(name)) {
                            return; // a lookup left hanging, as a slow or dead name server does
                        }
                        InetAddress a = answers.get(name);
                        DatagramDnsResponse r = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
                        r.addRecord(DnsSection.QUESTION, q);
                        if (a == null) {
                            r.setCode(DnsResponseCode.NXDOMAIN);
                        } else if (q.type() == DnsRecordType.A && a.getAddress().length == 4) {
                            r.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(q.name(), DnsRecordType.A, 0, Unpooled.wrappedBuffer(a.getAddress())));
                        }
                        ctx.writeAndFlush(r);
                    }
                });
            }
        }).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    TestDnsServer answer(String name, String address) throws Exception {
        answers.put(name, InetAddress.getByName(address));
        return this;
    }

    /** Never answers queries for {@code name}. */
    TestDnsServer silent(String name) {
        silent.add(name);
        return this;
    }

    String address() {
        InetSocketAddress a = (InetSocketAddress) channel.localAddress();
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
