package io.airlock.core.egress;

import io.airlock.tunnel.net.AddressClass;
import io.airlock.tunnel.net.Cidr;
import io.airlock.tunnel.net.IpLiterals;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * One allow rule: a domain (exact, or {@code *.suffix} for every name below the suffix, not the
 * suffix itself) or a CIDR range, on a set of ports (empty: any port).
 */
public record EgressRule(String domain, Cidr cidr, Set<Integer> ports) {
    public EgressRule {
        if ((domain == null) == (cidr == null)) {
            throw new IllegalArgumentException("an egress rule names a domain or a CIDR range, exactly one (got "
                    + (domain == null ? "neither" : "both") + ")");
        }
        if (domain != null) {
            domain = normalise(domain);
            if (IpLiterals.parse(domain).isPresent()) {
                throw new IllegalArgumentException("egress domain '" + domain + "' is an IP address (expected a name; use cidr for addresses)");
            }
            String name = domain.startsWith("*.") ? domain.substring(2) : domain;
            if (!name.matches("[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")) {
                throw new IllegalArgumentException("egress domain '" + domain + "' (expected a host name like pypi.org, or *.pypi.org)");
            }
        }
        for (int p : ports) {
            if (p < 1 || p > 65535) {
                throw new IllegalArgumentException("egress port " + p + " (expected 1 to 65535)");
            }
        }
        ports = Set.copyOf(ports);
    }

    public static EgressRule domain(String domain, Set<Integer> ports) {
        return new EgressRule(domain, null, ports);
    }

    public static EgressRule cidr(String cidr, Set<Integer> ports) {
        return new EgressRule(null, Cidr.parse(cidr), ports);
    }

    static String normalise(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    public boolean allowsPort(int port) {
        return ports.isEmpty() || ports.contains(port);
    }

    /** True for a host name this domain rule covers; CIDR rules match no names. */
    public boolean matchesName(String host) {
        if (domain == null) {
            return false;
        }
        String h = normalise(host);
        return domain.startsWith("*.") ? h.endsWith(domain.substring(1)) : h.equals(domain);
    }

    /**
     * True for an address this CIDR rule lets through. An address in a range denied by default
     * (loopback, private, link-local, ...) passes only a rule that lies wholly within that same
     * class: {@code 10.20.0.0/16} names private addresses, {@code 0.0.0.0/0} does not.
     */
    public boolean matchesAddress(InetAddress address) {
        if (cidr == null || !cidr.contains(address)) {
            return false;
        }
        AddressClass c = AddressClass.of(address);
        return !c.deniedByDefault() || (AddressClass.of(cidr.network()) == c && AddressClass.of(cidr.last()) == c);
    }

    /** True when everything this rule allows, {@code bound} allows too. */
    public boolean within(EgressRule bound) {
        if (!bound.ports.isEmpty() && (ports.isEmpty() || !bound.ports.containsAll(ports))) {
            return false;
        }
        if (domain != null) {
            if (bound.domain == null) {
                return false;
            }
            if (!domain.startsWith("*.")) {
                return bound.matchesName(domain);
            }
            // *.a.b is within *.b and within *.a.b; never within an exact name.
            return bound.domain.startsWith("*.") && (domain.equals(bound.domain) || domain.endsWith(bound.domain.substring(1)));
        }
        return bound.cidr != null && bound.cidr.prefix() <= cidr.prefix() && bound.cidr.contains(cidr.network());
    }

    @Override
    public String toString() {
        return (domain != null ? domain : cidr.toString()) + (ports.isEmpty() ? ":*" : ":" + new TreeSet<>(ports));
    }
}
