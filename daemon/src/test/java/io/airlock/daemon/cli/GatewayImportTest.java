package io.airlock.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayImportTest {
    @TempDir
    Path dir;

    GatewayImport.Result convert(String yaml) throws IOException {
        Path p = dir.resolve("config.yaml");
        Files.writeString(p, yaml);
        return GatewayImport.convert(p);
    }

    @Test
    void theProxysConfigurationBecomesAnMcpSectionTheDaemonLoads() throws Exception {
        Path ca = dir.resolve("ca.pem"); // the daemon reads the CA when it loads the section
        Files.writeString(ca, io.airlock.controlplane.ca.CertificateAuthority.toPem(
                io.airlock.controlplane.ca.CertificateAuthority.create("customer", java.time.Duration.ofDays(1)).certificate()));
        var r = convert(("""
                listen_addr: ":8443"
                tunnel_domain: tunnel.example.com
                tls: {cert_file: /etc/mcp-gateway/tls.crt, key_file: /etc/mcp-gateway/tls.key}
                routes:
                  wiki: "https://wiki.internal:8443/mcp"
                  tickets: "http://10.2.0.7/mcp"
                upstream:
                  allowed_ips: ["10.0.0.0/8", "192.168.1.20"]
                  tls: {ca_file: CA, include_system_cas: true}
                """).replace("CA", ca.toString()));
        DaemonConfig c = ConfigLoader.parse(r.yaml(), "imported.yaml");
        assertEquals(List.of("wiki", "tickets"), c.mcp().specs().stream().map(s -> s.name()).toList());
        assertEquals(List.of("10.0.0.0/8", "192.168.1.20/32"), c.mcp().allowedNetworks());
        assertEquals("0.0.0.0:8443", c.mcp().gateway().listen());
        assertEquals("tunnel.example.com", c.mcp().gateway().tunnelDomain());
        assertEquals(Path.of("/etc/mcp-gateway/tls.crt"), c.mcp().gateway().tls().certFile());
        assertTrue(r.yaml().contains("ca_file: " + ca), r.yaml());
        assertEquals(1, r.yaml().split("ca_file").length - 1, "only the https route gets the CA: " + r.yaml());
        assertTrue(r.notes().get(0).startsWith("upstream.tls.include_system_cas: not carried over"), r.notes().toString());
    }

    @Test
    void fullHostNamesWithoutATunnelDomainAndTheProxysDefaultNetworks() throws Exception {
        var r = convert("""
                listen_addr: "127.0.0.1:9443"
                routes:
                  wiki.mcp.corp.test: "http://10.0.0.5/mcp"
                """);
        DaemonConfig c = ConfigLoader.parse(r.yaml(), "imported.yaml");
        assertEquals("mcp.corp.test", c.mcp().gateway().tunnelDomain());
        assertEquals("wiki", c.mcp().specs().get(0).name());
        assertEquals(GatewayImport.PROXY_DEFAULT, c.mcp().allowedNetworks());
    }

    @Test
    void whatCannotCarryOverIsNamed() throws Exception {
        IOException noRoutes = assertThrows(IOException.class, () -> convert("listen_addr: \":8443\"\n"));
        assertTrue(noRoutes.getMessage().contains("routes: missing or empty (expected a map of subdomain to upstream URL)"), noRoutes.getMessage());
        IOException badName = assertThrows(IOException.class, () -> convert("tunnel_domain: t.test\nroutes: {Wiki_2: \"http://10.0.0.1/\"}\n"));
        assertTrue(badName.getMessage().contains("routes.Wiki_2: Airlock serves SERVER.t.test with SERVER 1-63 characters"), badName.getMessage());
        var open = convert("tunnel_domain: t.test\nlisten_addr: \"127.0.0.1:1\"\nroutes: {a: \"http://10.0.0.1/\"}\nupstream: {disable_ip_validation: true}\n");
        assertEquals(List.of("0.0.0.0/0", "::/0"), ConfigLoader.parse(open.yaml(), "x").mcp().allowedNetworks());
        assertTrue(open.notes().get(0).contains("disable_ip_validation"), open.notes().toString());
    }
}
