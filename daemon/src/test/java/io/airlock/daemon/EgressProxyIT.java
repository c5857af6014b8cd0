package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.egress.EgressOutcome;
import io.airlock.core.egress.EgressPolicy;
import io.airlock.core.egress.EgressProxy;
import io.airlock.core.egress.EgressRule;
import io.airlock.driver.EgressPort;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The egress proxy on its own, driven by the host's curl over loopback: the decisions, the
 * refusals' wording, the live update, the per-sandbox limit and the outcome records. The same
 * behaviour from inside real sandboxes is in the drivers' egress tests.
 */
class EgressProxyIT {
    @TempDir
    Path dir;
    TestDnsServer dns;
    TestOrigins origins;
    EgressProxy proxy;
    EgressPort.Listener listener;
    int proxyPort;
    final Map<String, EgressPolicy> policies = new ConcurrentHashMap<>();
    final List<EgressOutcome> outcomes = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        dns = new TestDnsServer().answer("allowed.test", "127.0.0.1").answer("secure.test", "127.0.0.1").answer("rebind.test", "10.1.2.3")
                .answer("later.test", "127.0.0.1").silent("hanging.test");
        origins = new TestOrigins("127.0.0.1");
        Files.writeString(dir.resolve("ca.pem"), origins.caPem);
        DaemonConfig.Egress settings = new DaemonConfig.Egress(List.of(new DaemonConfig.EgressAllow("*.test", null, null)), 1,
                Duration.ofSeconds(2), Duration.ofSeconds(30), List.of(dns.address()), null);
        proxy = EgressProxy.start(settings.proxySettings(), id -> policies.getOrDefault(id, EgressPolicy.DENY_ALL), outcomes::add);
        proxyPort = AgentFixture.freePort();
        listener = proxy.listenTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxyPort), peer -> Optional.of("sb1"));
        policies.put("sb1", new EgressPolicy(List.of(EgressRule.domain("allowed.test", Set.of(origins.httpPort())),
                EgressRule.domain("secure.test", Set.of(origins.httpsPort())), EgressRule.domain("rebind.test", Set.of()),
                EgressRule.cidr("127.0.0.1/32", Set.of(origins.httpPort(), origins.httpsPort())))));
    }

    @AfterEach
    void stop() {
        listener.close();
        proxy.close();
        origins.close();
        dns.close();
    }

    record Curl(int exit, String out) {}

    Curl curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "10", "--noproxy", "", "-x", "http://127.0.0.1:" + proxyPort,
                "--cacert", dir.resolve("ca.pem").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        return new Curl(p.exitValue(), out);
    }

    @Test
    void allowedNamesWorkOverHttpAndConnect() throws Exception {
        Curl http = curl("http://allowed.test:" + origins.httpPort() + "/plain?x=1");
        assertTrue(http.out().contains("hello over http /plain?x=1"), http.out());
        Curl https = curl("https://secure.test:" + origins.httpsPort() + "/tls");
        assertTrue(https.out().contains("hello over https /tls"), https.out());
        waitFor(() -> outcomes.size() >= 2);
        EgressOutcome tunnel = outcomes.stream().filter(o -> o.method().equals("CONNECT")).findFirst().orElseThrow();
        assertTrue(tunnel.allowed());
        assertEquals("secure.test", tunnel.host());
        assertEquals("127.0.0.1", tunnel.address());
        assertTrue(tunnel.bytesUp() > 100 && tunnel.bytesDown() > 100, tunnel.toString());
        assertEquals("secure.test:[" + origins.httpsPort() + "]", tunnel.rule());
    }

    @Test
    void refusalsNameTheReason() throws Exception {
        Curl denied = curl("http://denied.test:" + origins.httpPort() + "/");
        assertTrue(denied.out().startsWith("HTTP/1.1 403"), denied.out());
        assertTrue(denied.out().contains("airlock egress proxy: no egress rule allows denied.test:" + origins.httpPort()), denied.out());
        assertTrue(denied.out().contains("Proxy-Status: airlock-egress; error=http_request_denied"), denied.out());

        Curl metadata = curl("http://169.254.169.254/latest/meta-data/");
        assertTrue(metadata.out().contains("169.254.169.254, a link-local ("), metadata.out());
        Curl octal = curl("http://0177.0.0.1:" + origins.httpPort() + "/");
        assertTrue(octal.out().startsWith("HTTP/1.1 200"), "127.0.0.1 is allowed by its cidr rule, however spelled: " + octal.out());
        Curl otherPort = curl("http://127.0.0.1:1/");
        assertTrue(otherPort.out().contains("127.0.0.1, a loopback ("), otherPort.out());

        Curl rebind = curl("http://rebind.test:" + origins.httpPort() + "/");
        assertTrue(rebind.out().contains("rebind.test: the name resolved to 10.1.2.3, a private ("), rebind.out());
        assertTrue(rebind.out().contains("error=destination_ip_prohibited"), rebind.out());

        Curl tlsDenied = curl("https://denied.test:443/");
        assertTrue(tlsDenied.out().contains("403"), tlsDenied.out());
        assertEquals(1, origins.requests.get(), "only the allowed octal request reached a server");
        waitFor(() -> outcomes.stream().filter(o -> !o.allowed()).count() == 5);
        assertTrue(outcomes.stream().anyMatch(o -> !o.allowed() && o.host().equals("rebind.test") && o.address().equals("10.1.2.3")));
    }

    /** Issue 17.5: a client that leaves while the proxy resolves still leaves a record of the lookup it caused. */
    @Test
    void aClientThatLeavesWhileTheProxyResolvesIsRecordedAsAbandoned() throws Exception {
        policies.put("sb1", new EgressPolicy(List.of(EgressRule.domain("hanging.test", Set.of(443)))));
        try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
            s.getOutputStream().write("CONNECT hanging.test:443 HTTP/1.1\r\nHost: hanging.test:443\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            waitFor(() -> dns.queries.contains("hanging.test"));
        }
        waitFor(() -> !outcomes.isEmpty());
        EgressOutcome o = outcomes.getFirst();
        assertEquals(EgressOutcome.Decision.ABANDONED, o.decision(), o.toString());
        assertEquals("abandoned", o.auditFields().get("decision"));
        assertEquals("hanging.test", o.host());
        assertEquals("CONNECT", o.method());
        assertEquals("sb1", o.sandboxId());
        assertEquals("hanging.test:[443]", o.rule(), "the name was allowed; the lookup was made under that rule");
        assertTrue(o.reason().equals("the client went away while the proxy resolved hanging.test"), o.reason());

        // One that sends nothing at all is a record too, and every connection gets exactly one.
        new java.net.Socket(InetAddress.getLoopbackAddress(), proxyPort).close();
        waitFor(() -> outcomes.size() == 2);
        assertTrue(outcomes.get(1).reason().contains("before sending a complete request head"), outcomes.get(1).toString());
        Thread.sleep(300);
        assertEquals(2, outcomes.size(), outcomes.toString());
    }

    /** Issue 17.5: a client that leaves while the proxy dials is recorded with the address being dialled. */
    @Test
    void aClientThatLeavesWhileTheProxyDialsIsRecordedAsAbandoned() throws Exception {
        // A listener whose accept queue is full drops further SYNs: the dial hangs until the connect timeout.
        try (java.net.ServerSocket full = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            List<java.net.Socket> fillers = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                java.net.Socket f = new java.net.Socket();
                try {
                    f.connect(full.getLocalSocketAddress(), 300);
                    fillers.add(f);
                } catch (java.io.IOException e) {
                    f.close();
                    break; // the queue is full
                }
            }
            policies.put("sb1", new EgressPolicy(List.of(EgressRule.cidr("127.0.0.1/32", Set.of(full.getLocalPort())))));
            try (java.net.Socket s = new java.net.Socket(InetAddress.getLoopbackAddress(), proxyPort)) {
                s.getOutputStream().write(("CONNECT 127.0.0.1:" + full.getLocalPort() + " HTTP/1.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                Thread.sleep(500); // dialling: the connect timeout is 2 s
            }
            waitFor(() -> !outcomes.isEmpty());
            for (java.net.Socket f : fillers) {
                f.close();
            }
        }
        EgressOutcome o = outcomes.getFirst();
        assertEquals(EgressOutcome.Decision.ABANDONED, o.decision(), o.toString());
        assertEquals("127.0.0.1", o.address());
        assertTrue(o.reason().startsWith("the client went away while the proxy dialled 127.0.0.1:"), o.reason());
    }

    /** Issue 17.6: a forwarded plain-HTTP request counts its request line and headers as sent. */
    @Test
    void aForwardedRequestCountsItsHeadAsBytesUp() throws Exception {
        Curl http = curl("http://allowed.test:" + origins.httpPort() + "/plain");
        assertTrue(http.out().contains("hello over http"), http.out());
        waitFor(() -> !outcomes.isEmpty());
        long up = outcomes.getFirst().bytesUp();
        assertTrue(up > "GET /plain HTTP/1.1\r\nHost: allowed.test\r\n\r\n".length(), "bytes_up " + up);
    }

    @Test
    void aLiveUpdateAppliesToTheNextConnection() throws Exception {
        String url = "http://later.test:" + origins.httpPort() + "/";
        assertTrue(curl(url).out().startsWith("HTTP/1.1 403"));
        List<EgressRule> rules = new ArrayList<>(policies.get("sb1").rules());
        rules.add(EgressRule.domain("later.test", Set.of()));
        policies.put("sb1", new EgressPolicy(rules));
        assertTrue(curl(url).out().contains("hello over http"));
    }

    @Test
    void oneSandboxHoldsAtMostItsConnections() throws Exception {
        try (Socket held = new Socket("127.0.0.1", proxyPort)) {
            OutputStream out = held.getOutputStream();
            out.write(("CONNECT secure.test:" + origins.httpsPort() + " HTTP/1.1\r\nHost: secure.test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = held.getInputStream();
            byte[] head = new byte[39];
            assertEquals(39, in.readNBytes(head, 0, 39));
            assertTrue(new String(head, StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
            Curl second = curl("http://allowed.test:" + origins.httpPort() + "/");
            assertTrue(second.out().startsWith("HTTP/1.1 429"), second.out());
            assertTrue(second.out().contains("max_connections_per_sandbox"), second.out());
        }
        waitFor(() -> proxy.openConnections("sb1") == 0);
        assertTrue(curl("http://allowed.test:" + origins.httpPort() + "/").out().contains("hello over http"));
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < end, "condition not met within 10 s");
            Thread.sleep(20);
        }
    }
}
