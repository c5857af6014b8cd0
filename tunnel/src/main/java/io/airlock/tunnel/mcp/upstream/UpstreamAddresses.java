package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.net.Cidr;
import io.airlock.tunnel.net.IpLiterals;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Where upstreams may be: every address an upstream's host resolves to must lie in one of the
 * allowed networks (by default the private ranges and loopback), so a registry entry, or a DNS
 * answer for one, can never send the tunnel to the internet or to a cloud metadata address.
 */
public record UpstreamAddresses(List<Cidr> allowed) {
    public static final List<String> DEFAULT = List.of("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            "fc00::/7");

    public UpstreamAddresses {
        allowed = List.copyOf(allowed);
    }

    public static UpstreamAddresses defaults() {
        return new UpstreamAddresses(DEFAULT.stream().map(Cidr::parse).toList());
    }

    /** Thrown when a host resolves outside the allowed networks, or not at all. */
    public static final class RefusedException extends Exception {
        RefusedException(String message) {
            super(message);
        }
    }

    /** Resolves {@code host} (the JVM's resolver, whose cache the HTTP client then uses too) and checks every address. */
    public void check(String server, String host) throws RefusedException, UnknownHostException {
        InetAddress[] addresses;
        host = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        var literal = IpLiterals.parse(host);
        try {
            addresses = literal.isPresent() ? new InetAddress[] {literal.get()} : InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            throw new UnknownHostException("the host of MCP server '" + server + "' (" + host + ") does not resolve");
        }
        for (InetAddress a : addresses) {
            if (allowed.stream().noneMatch(c -> c.contains(a))) {
                throw new RefusedException("MCP server '" + server + "' resolves to " + a.getHostAddress()
                        + ", outside mcp.allowed_networks (" + String.join(", ", allowed.stream().map(Cidr::toString).toList()) + ")");
            }
        }
    }
}
