package io.airlock.tunnel.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which range an address falls in. Every class but {@link #PUBLIC} is denied to sandboxes
 * unless a rule names the range: these are the addresses an agent could use to reach the
 * host, the customer's network or the cloud's metadata service. IPv6 forms that carry an
 * IPv4 address (mapped {@code ::ffff:a.b.c.d}, compatible {@code ::a.b.c.d}, NAT64
 * {@code 64:ff9b::/96}, 6to4 {@code 2002::/16}) are judged by that IPv4 address.
 */
public enum AddressClass {
    UNSPECIFIED("0.0.0.0/8 or ::"),
    LOOPBACK("127.0.0.0/8 or ::1"),
    LINK_LOCAL("169.254.0.0/16 or fe80::/10, cloud metadata services included"),
    PRIVATE("RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16"),
    CGNAT("100.64.0.0/10, carrier-grade NAT"),
    UNIQUE_LOCAL("fc00::/7, IPv6 unique local"),
    MULTICAST("224.0.0.0/4 or ff00::/8"),
    RESERVED("240.0.0.0/4 and 255.255.255.255"),
    PUBLIC("public");

    private final String ranges;

    AddressClass(String ranges) {
        this.ranges = ranges;
    }

    /** Words for an error message: "loopback (127.0.0.0/8 or ::1)". */
    public String describe() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-') + " (" + ranges + ")";
    }

    public boolean deniedByDefault() {
        return this != PUBLIC;
    }

    private static final List<Cidr> CGNAT_RANGE = List.of(Cidr.parse("100.64.0.0/10"));
    private static final Cidr NAT64 = Cidr.parse("64:ff9b::/96");
    private static final Cidr SIX_TO_FOUR = Cidr.parse("2002::/16");
    private static final Cidr ULA = Cidr.parse("fc00::/7");
    private static final Cidr RESERVED_V4 = Cidr.parse("240.0.0.0/4");

    public static AddressClass of(InetAddress address) {
        if (address instanceof Inet6Address v6) {
            Inet4Address embedded = embeddedIpv4(v6);
            return embedded != null ? of(embedded) : ofIpv6(v6);
        }
        byte[] b = address.getAddress();
        int first = b[0] & 0xff;
        if (first == 0) {
            return UNSPECIFIED;
        }
        if (address.isLoopbackAddress()) {
            return LOOPBACK;
        }
        if (address.isLinkLocalAddress()) {
            return LINK_LOCAL;
        }
        if (address.isSiteLocalAddress()) {
            return PRIVATE;
        }
        if (CGNAT_RANGE.get(0).contains(address)) {
            return CGNAT;
        }
        if (address.isMulticastAddress()) {
            return MULTICAST;
        }
        if (RESERVED_V4.contains(address)) {
            return RESERVED;
        }
        return PUBLIC;
    }

    private static AddressClass ofIpv6(Inet6Address a) {
        if (a.isAnyLocalAddress()) {
            return UNSPECIFIED;
        }
        if (a.isLoopbackAddress()) {
            return LOOPBACK;
        }
        if (a.isLinkLocalAddress()) {
            return LINK_LOCAL;
        }
        if (ULA.contains(a) || a.isSiteLocalAddress()) {
            return UNIQUE_LOCAL; // fec0::/10 (deprecated site-local) is as private
        }
        if (a.isMulticastAddress()) {
            return MULTICAST;
        }
        return PUBLIC;
    }

    /** The IPv4 address inside an IPv4-compatible, NAT64 or 6to4 IPv6 address; null otherwise. */
    static Inet4Address embeddedIpv4(Inet6Address a) {
        byte[] b = a.getAddress();
        int from;
        if (NAT64.contains(a)) {
            from = 12;
        } else if (SIX_TO_FOUR.contains(a)) {
            from = 2;
        } else if (allZero(b, 0, 12) && !(allZero(b, 12, 15) && (b[15] == 0 || b[15] == 1))) {
            from = 12; // ::a.b.c.d (deprecated compatible form); :: and ::1 are themselves
        } else {
            return null;
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(Arrays.copyOfRange(b, from, from + 4));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean allZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
