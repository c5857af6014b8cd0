package io.airlock.tunnel.mcp.upstream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.tunnel.net.Cidr;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Address classification for upstreams, as a pure function of literals (nothing is dialled). */
class UpstreamAddressesTest {
    private final UpstreamAddresses defaults = UpstreamAddresses.defaults();

    @Test
    void privateRangesAndLoopbackPassByDefault() {
        for (String host : List.of("127.0.0.1", "10.20.0.11", "172.16.5.4", "192.168.1.1", "[::1]", "fd00::7")) {
            assertDoesNotThrow(() -> defaults.check("s", host), host);
        }
    }

    @Test
    void metadataPublicAndDisguisedAddressesAreRefusedNamingTheAddressAndTheSetting() {
        // 169.254.169.254 is the cloud metadata address; 2852039166 and 0251.0376.0251.0376 are it spelt otherwise.
        for (String host : List.of("169.254.169.254", "2852039166", "0251.0376.0251.0376", "8.8.8.8", "[2001:db8::1]", "100.64.0.1")) {
            String message = assertThrows(UpstreamAddresses.RefusedException.class, () -> defaults.check("inventory", host), host).getMessage();
            assertTrue(message.contains("MCP server 'inventory' resolves to") && message.contains("outside mcp.allowed_networks"), message);
        }
    }

    @Test
    void aConfiguredListReplacesTheDefault() {
        UpstreamAddresses only10 = new UpstreamAddresses(List.of(Cidr.parse("10.0.0.0/8")));
        assertDoesNotThrow(() -> only10.check("s", "10.1.2.3"));
        String message = assertThrows(UpstreamAddresses.RefusedException.class, () -> only10.check("s", "127.0.0.1")).getMessage();
        assertTrue(message.contains("127.0.0.1, outside mcp.allowed_networks (10.0.0.0/8)"), message);
    }
}
