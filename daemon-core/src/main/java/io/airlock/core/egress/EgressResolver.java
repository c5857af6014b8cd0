package io.airlock.core.egress;

import io.netty.channel.EventLoop;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.resolver.ResolvedAddressTypes;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * How the proxy turns a name into addresses: it asks DNS itself (never the sandbox's resolver),
 * either the servers the operator configured or, with none, the host's own (/etc/resolv.conf
 * and /etc/hosts). Every address it returns is checked before one is dialled.
 */
final class EgressResolver implements AutoCloseable {
    private final DnsNameResolver resolver;

    EgressResolver(EventLoop loop, List<InetSocketAddress> servers, Duration queryTimeout) {
        DnsNameResolverBuilder b = new DnsNameResolverBuilder(loop)
                .datagramChannelType(EpollDatagramChannel.class)
                .socketChannelType(EpollSocketChannel.class)
                .queryTimeoutMillis(queryTimeout.toMillis())
                .resolvedAddressTypes(ResolvedAddressTypes.IPV4_PREFERRED);
        if (servers.isEmpty()) {
            b.nameServerProvider(DnsServerAddressStreamProviders.platformDefault());
        } else {
            // Configured servers answer alone: no hosts file, no search domains from the host.
            b.nameServerProvider(new SequentialDnsServerAddressStreamProvider(servers.toArray(InetSocketAddress[]::new)))
                    .hostsFileEntriesResolver((name, types) -> null)
                    .searchDomains(List.of());
        }
        this.resolver = b.build();
    }

    /** All addresses of {@code host}; completes on the resolver's event loop. */
    Future<List<InetAddress>> resolveAll(String host) {
        return resolver.resolveAll(host);
    }

    @Override
    public void close() {
        resolver.close();
    }

}
