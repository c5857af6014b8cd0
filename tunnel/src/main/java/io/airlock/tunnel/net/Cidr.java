package io.airlock.tunnel.net;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** An address range such as {@code 10.0.0.0/8} or {@code fd00::/8}; a bare address is a range of one. */
public record Cidr(InetAddress network, int prefix) {
    public Cidr {
        int bits = network.getAddress().length * 8;
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException("prefix /" + prefix + " (expected 0 to " + bits + " for " + network.getHostAddress() + ")");
        }
        network = masked(network, prefix);
    }

    /** Parses {@code ADDRESS/PREFIX} or {@code ADDRESS}; the address in any spelling {@link IpLiterals} reads. */
    public static Cidr parse(String text) {
        String t = text.strip();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        InetAddress a = IpLiterals.parse(addr).orElseThrow(() -> new IllegalArgumentException(
                "'" + text + "' is not a CIDR range (expected ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8)"));
        int bits = a.getAddress().length * 8;
        int prefix;
        try {
            prefix = slash < 0 ? bits : Integer.parseInt(t.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': the prefix is not a number (expected ADDRESS/PREFIX, e.g. 10.0.0.0/8)");
        }
        return new Cidr(a, prefix);
    }

    /** The highest address of the range. */
    public InetAddress last() {
        byte[] b = network.getAddress();
        int hostBits = b.length * 8 - prefix;
        for (int i = b.length - 1; i >= 0 && hostBits > 0; i--) {
            int n = Math.min(8, hostBits);
            b[i] |= (byte) ((1 << n) - 1);
            hostBits -= n;
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean contains(InetAddress address) {
        if (address.getAddress().length != network.getAddress().length) {
            return false;
        }
        return masked(address, prefix).equals(network);
    }

    private static InetAddress masked(InetAddress a, int prefix) {
        byte[] b = a.getAddress();
        int bits = b.length * 8;
        BigInteger value = new BigInteger(1, b);
        BigInteger mask = prefix == 0 ? BigInteger.ZERO : BigInteger.ONE.shiftLeft(bits).subtract(BigInteger.ONE)
                .shiftRight(bits - prefix).shiftLeft(bits - prefix);
        byte[] raw = value.and(mask).toByteArray();
        byte[] out = new byte[b.length];
        int copy = Math.min(raw.length, out.length);
        System.arraycopy(raw, raw.length - copy, out, out.length - copy, copy);
        try {
            return InetAddress.getByAddress(out);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefix;
    }
}
