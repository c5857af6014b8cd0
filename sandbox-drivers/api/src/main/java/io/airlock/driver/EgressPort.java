package io.airlock.driver;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The daemon's egress proxy as a driver sees it: the driver decides where its sandboxes can
 * reach the proxy, the proxy decides what each connection may reach. Every connection is traced
 * back to one sandbox, whose allowlist then applies; one that belongs to no sandbox is refused.
 */
public interface EgressPort {
    /** The port sandboxes reach the proxy on (policy.egress.proxy_port). */
    int port();

    /**
     * Accepts on a TCP address (Docker: the gateway of the sandboxes' internal network); each
     * connection's sandbox is found from its peer address.
     */
    Listener listenTcp(InetSocketAddress address, Function<InetAddress, Optional<String>> sandboxOfPeer) throws IOException;

    /** Accepts on a unix socket that only this sandbox can reach (bubblewrap binds it inside). */
    Listener listenUnix(Path socket, String sandboxId) throws IOException;

    /** A listening socket; closing it stops accepting (connections already open run on). */
    interface Listener extends AutoCloseable {
        @Override
        void close();
    }

    /** The proxy variables a sandbox's processes get, in the spellings common tools read. */
    static Map<String, String> proxyEnvironment(String proxyUrl) {
        return Map.of("HTTP_PROXY", proxyUrl, "HTTPS_PROXY", proxyUrl, "http_proxy", proxyUrl, "https_proxy", proxyUrl,
                "NO_PROXY", "localhost,127.0.0.1,::1", "no_proxy", "localhost,127.0.0.1,::1");
    }
}
