package io.airlock.tunnel.net;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads a host string as an IP address literal, never resolving it. IPv4 follows inet_aton(3),
 * as curl, browsers and most C clients do: one to four parts, each decimal, octal (leading 0) or
 * hex (0x), the last part filling the remaining bytes, so {@code 2130706433}, {@code 0177.1} and
 * {@code 0x7f.0.0.1} are all 127.0.0.1. We parse it ourselves because the JDK (and Guava)
 * accept only some of these spellings and send the rest to DNS, and an allowlist that reads
 * {@code 0177.0.0.1} as a name would let a sandbox reach loopback.
 */
public final class IpLiterals {
    private IpLiterals() {}

    /** The address the host string spells, or empty when it is a name. Brackets around IPv6 are allowed. */
    public static Optional<InetAddress> parse(String host) {
        String h = host.strip();
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.isEmpty()) {
            return Optional.empty();
        }
        if (h.indexOf(':') >= 0) {
            return ipv6(h);
        }
        return ipv4(h);
    }

    private static Optional<InetAddress> ipv4(String h) {
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1); // a trailing dot (fully qualified) changes nothing for a literal
        }
        String[] parts = h.split("\\.", -1);
        if (parts.length > 4) {
            return Optional.empty();
        }
        long[] values = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            Long v = number(parts[i]);
            if (v == null) {
                return Optional.empty();
            }
            values[i] = v;
        }
        long address = 0;
        for (int i = 0; i < values.length - 1; i++) {
            if (values[i] > 0xff) {
                return Optional.empty();
            }
            address |= values[i] << (24 - 8 * i);
        }
        long last = values[values.length - 1];
        int lastBits = 8 * (5 - values.length);
        if (last >= 1L << lastBits) {
            return Optional.empty();
        }
        address |= last;
        byte[] bytes = {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
        try {
            return Optional.of(InetAddress.getByAddress(bytes));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // four bytes are always a valid address
        }
    }

    /** A decimal, octal (0...) or hex (0x...) number, or null. */
    private static Long number(String s) {
        if (s.isEmpty() || s.length() > 12) {
            return null;
        }
        String lower = s.toLowerCase(Locale.ROOT);
        try {
            if (lower.startsWith("0x")) {
                return lower.length() == 2 ? 0L : Long.parseLong(lower.substring(2), 16);
            }
            if (lower.length() > 1 && lower.startsWith("0")) {
                return Long.parseLong(lower.substring(1), 8);
            }
            if (!lower.chars().allMatch(Character::isDigit)) {
                return null;
            }
            return Long.parseLong(lower);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Optional<InetAddress> ipv6(String h) {
        int zone = h.indexOf('%');
        String addr = zone >= 0 ? h.substring(0, zone) : h;
        if (!addr.matches("[0-9A-Fa-f:.]+")) {
            return Optional.empty();
        }
        try {
            // With only hex digits, colons and dots, the JDK parses a literal and never resolves.
            return Optional.of(InetAddress.getByName(addr));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }
}
