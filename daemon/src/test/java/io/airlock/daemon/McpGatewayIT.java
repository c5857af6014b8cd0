package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.controlplane.ca.CertificateAuthority;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway origin: the MCP tunnel proxy's own configuration converted by {@code airlock config
 * import-mcp-gateway}, the daemon serving it over TLS with a certificate of the customer's CA,
 * and the SDK v2 client reaching SERVER.TUNNEL_DOMAIN, with the agent's policy and audit.
 */
class McpGatewayIT {
    @TempDir
    static Path dir;
    static AgentFixture fx;
    static NodePeer v2;
    static Path ca;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        McpPeers.require();
        v2 = NodePeer.start("v2-server.mjs");
        CertificateAuthority customerCa = CertificateAuthority.create("customer-ca", Duration.ofDays(1));
        CertificateAuthority.IssuedIdentity id = customerCa.issueServer(List.of("*.mcp.test"), Duration.ofDays(1));
        ca = dir.resolve("ca.pem");
        Files.writeString(ca, CertificateAuthority.toPem(customerCa.certificate()));
        Path cert = dir.resolve("gateway.pem");
        Files.writeString(cert, CertificateAuthority.toPem(id.chain().toArray()));
        Path key = dir.resolve("gateway-key.pem");
        CertificateAuthority.writePrivate(key, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(id.key().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        port = AgentFixture.freePort();
        // The proxy's configuration, as its docs have it; the route to a server that is not there stays unused.
        Path proxy = dir.resolve("proxy.yaml");
        Files.writeString(proxy, """
                listen_addr: "127.0.0.1:%d"
                log_level: info
                tunnel_domain: mcp.test
                tls:
                  cert_file: %s
                  key_file: %s
                routes:
                  tools: "http://127.0.0.1:%d/mcp"
                upstream:
                  allowed_ips: ["127.0.0.1"]
                """.formatted(port, cert, key, v2.port()));
        String result = io.airlock.daemon.cli.GatewayImport.convert(proxy).yaml();
        assertTrue(result.contains("tunnel_domain: mcp.test"), result);
        assertTrue(result.contains("- 127.0.0.1/32"), result);
        fx = new AgentFixture(dir);
        fx.extraConfig = "drivers: {enabled: [bubblewrap]}\n" + result.replace("url: http://", "tools: {deny: [forbidden]}\n      url: http://");
        fx.enrollAndStart();
    }

    @AfterAll
    static void stop() {
        if (fx != null) {
            fx.close();
        }
        if (v2 != null) {
            v2.close();
        }
    }

    @Test
    void theSdkV2ClientReachesAServerByItsHostOverTheCustomersTlsWithTheAgentsPolicyAndAudit() throws Exception {
        NodePeer client = NodePeer.start("v2-client.mjs", "https://tools.mcp.test:" + port + "/mcp", "--connect-to", "127.0.0.1",
                "--ca", ca.toString(), "--denied", "forbidden");
        Map<String, JsonNode> steps = McpRevisionsIT.byStep(client.finish(Duration.ofSeconds(60)));
        assertEquals("2026-07-28", steps.get("connected").path("protocol").asText(), steps.toString());
        assertEquals("echo: over the 2026 revision", steps.get("tools/call echo").path("text").asText(), steps.toString());
        assertTrue(steps.get("denied").path("message").asText().contains("mcp.servers.tools.tools.deny"), steps.toString());
        assertTrue(steps.get("cancel").path("aborted").asBoolean(), steps.toString());
        v2.await(n -> n.path("event").asText().equals("cancelled"), Duration.ofSeconds(10));

        List<JsonNode> records = McpTunnelIT.auditIn(fx, "mcp").stream().filter(r -> r.path("server").asText().equals("tools")).toList();
        assertTrue(records.stream().anyMatch(r -> r.path("tool").asText().equals("echo") && r.path("outcome").asText().equals("ok")
                && r.path("caller_user").asText().equals("bob@example.test")), records.toString());
        assertTrue(records.stream().anyMatch(r -> r.path("tool").asText().equals("forbidden") && r.path("outcome").asText().equals("denied")),
                records.toString());
    }

    @Test
    void aHostNamingNoServerOrOutsideTheTunnelDomainIsRefusedNamingWhatIsExpected() throws Exception {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}";
        String other = raw("other.mcp.test", body);
        assertTrue(other.startsWith("HTTP/1.1 404"), other);
        assertTrue(other.contains("no MCP server 'other' in this agent's mcp.servers (it has: tools)"), other);
        String outside = raw("tools.example.org", body);
        assertTrue(outside.startsWith("HTTP/1.1 404"), outside);
        assertTrue(outside.contains("no MCP server at host 'tools.example.org' (expected SERVER.mcp.test"), outside);
        assertTrue(McpTunnelIT.auditIn(fx, "mcp").stream().anyMatch(r -> r.path("server").asText().equals("other")
                && r.path("outcome").asText().equals("denied")), "the unknown server is audited");
    }

    /** One request over TLS with the Host given (no resolver here knows these names), the whole response as text. */
    static String raw(String host, String body) throws Exception {
        var trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (var in = Files.newInputStream(ca)) {
            trust.setCertificateEntry("ca", java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        var ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        try (var socket = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
            var params = socket.getSSLParameters();
            params.setServerNames(List.of(new javax.net.ssl.SNIHostName("tools.mcp.test")));
            params.setEndpointIdentificationAlgorithm(null); // dialled by address: the chain is checked against the CA alone
            socket.setSSLParameters(params);
            socket.setSoTimeout(10_000);
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            socket.getOutputStream().write(("POST /mcp HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n"
                    + "Accept: application/json, text/event-stream\r\nContent-Length: " + b.length + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(b);
            socket.getOutputStream().flush();
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
