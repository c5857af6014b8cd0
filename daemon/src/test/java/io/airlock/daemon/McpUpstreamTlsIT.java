package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An MCP server over https that demands a client certificate: the agent verifies the server
 * against {@code ca_file} and presents {@code client_cert_file}/{@code client_key_file} (PEM);
 * without the client certificate, or against a CA the server's certificate does not chain to,
 * the caller gets an upstream error naming the server.
 */
class McpUpstreamTlsIT {
    @TempDir
    static Path dir;
    static HttpsServer upstream;
    static final BlockingQueue<String> clientSubjects = new LinkedBlockingQueue<>();
    static McpAgent agent;
    static McpRawCaller caller;

    @BeforeAll
    static void start() throws Exception {
        CertificateAuthority upstreamCa = CertificateAuthority.create("mcp-upstream-ca", Duration.ofDays(1));
        CertificateAuthority.IssuedIdentity serverId = upstreamCa.issueServer(List.of("127.0.0.1"), Duration.ofDays(1));
        KeyPair clientKeys = CertificateAuthority.newKeyPair();
        X509Certificate clientCert = upstreamCa.issueClient("airlock-upstream-client", clientKeys.getPublic(),
                Instant.now().minus(Duration.ofMinutes(5)), Instant.now().plus(Duration.ofDays(1)));
        upstream = mtlsServer(serverId, upstreamCa.certificate());

        Path ca = dir.resolve("upstream-ca.pem");
        Files.writeString(ca, CertificateAuthority.toPem(upstreamCa.certificate()));
        Path otherCa = dir.resolve("other-ca.pem");
        Files.writeString(otherCa, CertificateAuthority.toPem(CertificateAuthority.create("someone-else", Duration.ofDays(1)).certificate()));
        Path cert = dir.resolve("client.pem");
        Files.writeString(cert, CertificateAuthority.toPem(clientCert));
        Path key = dir.resolve("client-key.pem");
        CertificateAuthority.writePrivate(key, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(clientKeys.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");

        String url = "https://127.0.0.1:" + upstream.getAddress().getPort() + "/mcp";
        agent = McpAgent.start(dir.resolve("agent-fixture"), """
                  servers:
                    secure:
                      url: "%1$s"
                      ca_file: "%2$s"
                      client_cert_file: "%3$s"
                      client_key_file: "%4$s"
                    secure-without-client-cert:
                      url: "%1$s"
                      ca_file: "%2$s"
                    secure-wrong-ca:
                      url: "%1$s"
                      ca_file: "%5$s"
                      client_cert_file: "%3$s"
                      client_key_file: "%4$s"
                """.formatted(url, ca, cert, key, otherCa));
        caller = agent.caller;
    }

    @AfterAll
    static void stop() {
        if (agent != null) {
            agent.close();
        }
        if (upstream != null) {
            upstream.stop(0);
        }
    }

    @Test
    void theAgentPresentsItsClientCertificateToAServerItVerified() throws Exception {
        HttpResponse<String> r = caller.post("secure", null, McpRawCaller.initializeBody());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("tls-session", r.headers().firstValue("mcp-session-id").orElse(""));
        assertEquals("CN=airlock-upstream-client", clientSubjects.poll(10, TimeUnit.SECONDS));
    }

    @Test
    void withoutTheClientCertificateOrWithAnotherCaTheCallerGetsAnUpstreamError() throws Exception {
        for (String server : List.of("secure-without-client-cert", "secure-wrong-ca")) {
            HttpResponse<String> r = caller.post(server, null, McpRawCaller.initializeBody());
            assertEquals(502, r.statusCode(), server + ": " + r.body());
            JsonNode error = McpRawCaller.JSON.readTree(r.body()).get("error");
            assertEquals(McpErrors.UPSTREAM_UNAVAILABLE, error.get("code").asInt(), r.body());
            assertTrue(error.get("message").asText().contains("MCP server '" + server + "' at https://127.0.0.1:"), r.body());
            // Without a client certificate, TLS 1.3 may let the handshake finish on the agent's side; the server's
            // refusal then arrives as an alert or, when the reset overtakes it, as a closed connection. Both name the fix.
            String message = error.get("message").asText();
            assertTrue(message.contains("TLS handshake failed")
                    || server.equals("secure-without-client-cert") && message.contains("closed the connection without answering"), r.body());
            assertTrue(message.contains("mcp.servers." + server + ".client_cert_file"), r.body());
        }
        assertEquals(null, clientSubjects.poll(), "no request got through without mTLS");
    }

    /** An MCP-ish upstream on https that requires a client certificate from {@code clientCa} and records its subject. */
    private static HttpsServer mtlsServer(CertificateAuthority.IssuedIdentity id, X509Certificate clientCa) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", id.key(), new char[0], id.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("clients", clientCa);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
        server.setHttpsConfigurator(new HttpsConfigurator(tls) {
            @Override
            public void configure(HttpsParameters params) {
                var p = tls.getDefaultSSLParameters();
                p.setNeedClientAuth(true);
                params.setSSLParameters(p);
            }
        });
        server.createContext("/mcp", x -> {
            try {
                clientSubjects.add(((X509Certificate) ((HttpsExchange) x).getSSLSession().getPeerCertificates()[0])
                        .getSubjectX500Principal().getName());
            } catch (SSLPeerUnverifiedException e) {
                clientSubjects.add("none");
            }
            JsonNode request = McpRawCaller.JSON.readTree(x.getRequestBody());
            byte[] body = ("{\"jsonrpc\":\"2.0\",\"id\":" + request.get("id") + ",\"result\":{}}").getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().set("Content-Type", "application/json");
            x.getResponseHeaders().set("Mcp-Session-Id", "tls-session");
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        return server;
    }
}
