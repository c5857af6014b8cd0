package io.airlock.core.egress;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * How the egress proxy runs (policy.egress in the configuration, which makes these): its own type,
 * so that the proxy does not depend on the configuration package that depends on its rules.
 *
 * @param resolvers DNS servers the proxy asks; empty for the host's own
 */
public record ProxySettings(int maxConnectionsPerSandbox, Duration connectTimeout, Duration idleTimeout, List<InetSocketAddress> resolvers,
        int proxyPort) {
    public ProxySettings {
        resolvers = List.copyOf(resolvers);
    }
}
