package io.airlock.tunnel.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** Address classification as a pure function: nothing here resolves a name or sends a packet. */
class AddressClassTest {
    static AddressClass classify(String literal) {
        InetAddress a = IpLiterals.parse(literal).orElseThrow(() -> new AssertionError(literal + " was not read as an IP literal"));
        return AddressClass.of(a);
    }

    @Test
    void theRangesSandboxesMustNotReachAreNamed() {
        assertEquals(AddressClass.LINK_LOCAL, classify("169.254.169.254"), "cloud metadata");
        assertEquals(AddressClass.LINK_LOCAL, classify("fe80::1"));
        assertEquals(AddressClass.LOOPBACK, classify("127.0.0.1"));
        assertEquals(AddressClass.LOOPBACK, classify("127.255.0.7"));
        assertEquals(AddressClass.LOOPBACK, classify("::1"));
        assertEquals(AddressClass.LOOPBACK, classify("[::1]"));
        assertEquals(AddressClass.PRIVATE, classify("10.1.2.3"));
        assertEquals(AddressClass.PRIVATE, classify("172.16.0.1"));
        assertEquals(AddressClass.PRIVATE, classify("172.31.255.255"));
        assertEquals(AddressClass.PUBLIC, classify("172.32.0.1"));
        assertEquals(AddressClass.PRIVATE, classify("192.168.1.1"));
        assertEquals(AddressClass.CGNAT, classify("100.64.0.1"));
        assertEquals(AddressClass.CGNAT, classify("100.127.255.254"));
        assertEquals(AddressClass.PUBLIC, classify("100.128.0.1"));
        assertEquals(AddressClass.UNIQUE_LOCAL, classify("fd00::1"));
        assertEquals(AddressClass.UNIQUE_LOCAL, classify("fd12:3456:789a::1"));
        assertEquals(AddressClass.UNIQUE_LOCAL, classify("fc00::1"));
        assertEquals(AddressClass.MULTICAST, classify("224.0.0.251"));
        assertEquals(AddressClass.MULTICAST, classify("ff02::1"));
        assertEquals(AddressClass.UNSPECIFIED, classify("0.0.0.0"));
        assertEquals(AddressClass.UNSPECIFIED, classify("::"));
        assertEquals(AddressClass.RESERVED, classify("255.255.255.255"));
        assertEquals(AddressClass.PUBLIC, classify("93.184.216.34"));
        assertEquals(AddressClass.PUBLIC, classify("2606:4700::1111"));
        assertTrue(AddressClass.LOOPBACK.deniedByDefault());
        assertFalse(AddressClass.PUBLIC.deniedByDefault());
    }

    @Test
    void ipv6FormsThatCarryAnIpv4AddressAreJudgedByIt() {
        assertEquals(AddressClass.LOOPBACK, classify("::ffff:127.0.0.1"), "IPv4-mapped");
        assertEquals(AddressClass.LOOPBACK, classify("::ffff:7f00:1"), "IPv4-mapped, hex");
        assertEquals(AddressClass.LINK_LOCAL, classify("::ffff:169.254.169.254"));
        assertEquals(AddressClass.PRIVATE, classify("::10.0.0.1"), "IPv4-compatible");
        assertEquals(AddressClass.LINK_LOCAL, classify("64:ff9b::a9fe:a9fe"), "NAT64 of 169.254.169.254");
        assertEquals(AddressClass.LOOPBACK, classify("2002:7f00:1::"), "6to4 of 127.0.0.1");
    }

    @Test
    void everyIpv4SpellingAClientAcceptsIsRead() {
        assertEquals("127.0.0.1", IpLiterals.parse("2130706433").orElseThrow().getHostAddress(), "decimal");
        assertEquals("127.0.0.1", IpLiterals.parse("0177.0.0.1").orElseThrow().getHostAddress(), "octal");
        assertEquals("127.0.0.1", IpLiterals.parse("0x7f.0.0.1").orElseThrow().getHostAddress(), "hex");
        assertEquals("127.0.0.1", IpLiterals.parse("0x7f000001").orElseThrow().getHostAddress(), "hex, one part");
        assertEquals("127.0.0.1", IpLiterals.parse("127.1").orElseThrow().getHostAddress(), "short");
        assertEquals("127.0.0.1", IpLiterals.parse("127.0.1").orElseThrow().getHostAddress(), "short, three parts");
        assertEquals("127.0.0.1", IpLiterals.parse("0177.1").orElseThrow().getHostAddress(), "short, octal");
        assertEquals("169.254.169.254", IpLiterals.parse("2852039166").orElseThrow().getHostAddress());
        assertEquals("169.254.169.254", IpLiterals.parse("0251.0376.0251.0376").orElseThrow().getHostAddress());
        assertEquals("10.0.0.1", IpLiterals.parse("012.1").orElseThrow().getHostAddress());
        assertEquals(AddressClass.LOOPBACK, classify("127.0.0.1."), "trailing dot");
        assertEquals(AddressClass.UNSPECIFIED, classify("0"));
    }

    @Test
    void namesAndImpossibleNumbersAreNotLiterals() {
        for (String name : new String[] {"example.com", "localhost", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "127.16777216", "08.1.1.1",
            "1e3.0.0.1", "", "metadata.google.internal", "fe80::1::2", "::g"}) {
            assertTrue(IpLiterals.parse(name).isEmpty(), name + " must be a name, not an address");
        }
    }

    @Test
    void cidrRangesContainWhatTheyShould() {
        Cidr ten = Cidr.parse("10.0.0.0/8");
        assertTrue(ten.contains(IpLiterals.parse("10.255.0.1").orElseThrow()));
        assertFalse(ten.contains(IpLiterals.parse("11.0.0.1").orElseThrow()));
        assertFalse(ten.contains(IpLiterals.parse("::ffff:11.0.0.1").orElseThrow()));
        assertEquals("10.0.0.0/8", Cidr.parse("10.9.8.7/8").toString(), "host bits are masked off");
        assertTrue(Cidr.parse("fd00::/8").contains(IpLiterals.parse("fd99::5").orElseThrow()));
        assertFalse(Cidr.parse("fd00::/8").contains(IpLiterals.parse("10.0.0.1").orElseThrow()), "families do not mix");
        assertTrue(Cidr.parse("0.0.0.0/0").contains(IpLiterals.parse("8.8.8.8").orElseThrow()));
        assertTrue(Cidr.parse("192.0.2.7").contains(IpLiterals.parse("192.0.2.7").orElseThrow()), "a bare address is a /32");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/33"));
        assertTrue(e.getMessage().contains("expected 0 to 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse("intranet/8"));
        assertTrue(e.getMessage().contains("expected ADDRESS/PREFIX"), e.getMessage());
    }
}
