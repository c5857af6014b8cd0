package io.airlock.bench;

import ch.qos.logback.classic.Level;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.egress.EgressPolicy;
import io.airlock.core.egress.EgressProxy;
import io.airlock.core.egress.EgressRule;
import io.airlock.driver.EgressPort;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench egress}: HTTPS through the egress proxy (CONNECT, name resolved and
 * checked by the proxy, bytes relayed) against the same client talking to the same local HTTPS
 * server directly, interleaved. Connect latency runs until the TLS handshake is done; throughput
 * downloads one large body per round.
 */
@Command(name = "egress", mixinStandardHelpOptions = true,
        description = "HTTPS connect latency and throughput through the egress proxy vs direct to the same local server.")
public final class EgressBench implements Callable<Integer> {
    @Option(names = "--connects", description = "Measured connections per variant. Default: ${DEFAULT-VALUE}")
    int connects = 500;

    @Option(names = "--warmup", description = "Unmeasured connections per variant first (JIT). Default: ${DEFAULT-VALUE}")
    int warmup = 2000;

    @Option(names = "--downloads", description = "Measured downloads per variant. Default: ${DEFAULT-VALUE}")
    int downloads = 20;

    @Option(names = "--body-mib", description = "Size of each download in MiB. Default: ${DEFAULT-VALUE}")
    int bodyMib = 64;

    private SSLContext clientTls;
    private int originPort;
    private int proxyPort;

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        byte[] body = new byte[bodyMib << 20];
        HttpsServer origin = origin(body);
        originPort = origin.getAddress().getPort();
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            proxyPort = s.getLocalPort();
        }
        DaemonConfig.Egress settings = new DaemonConfig.Egress(List.of(new DaemonConfig.EgressAllow("localhost", null, null)), 64,
                Duration.ofSeconds(5), Duration.ofMinutes(1), List.of(), null);
        EgressPolicy policy = new EgressPolicy(List.of(EgressRule.domain("localhost", Set.of(originPort)),
                EgressRule.cidr("127.0.0.1/32", Set.of(originPort))));
        try (EgressProxy proxy = EgressProxy.start(settings.proxySettings(), id -> policy, outcome -> { });
                EgressPort.Listener l = proxy.listenTcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxyPort), peer -> Optional.of("bench"))) {
            for (int i = 0; i < warmup; i++) { // JIT: the proxy's path is cold code until C2 compiles it
                handshake(false).close();
                handshake(true).close();
                connectTunnel("127.0.0.1").close();
            }
            long[] direct = new long[connects];
            long[] proxied = new long[connects];
            long[] tunnel = new long[connects];
            long[] literal = new long[connects];
            for (int i = 0; i < connects; i++) {
                direct[i] = Timing.time(() -> handshake(false).close());
                proxied[i] = Timing.time(() -> handshake(true).close());
                tunnel[i] = Timing.time(() -> connectTunnel().close());
                literal[i] = Timing.time(() -> connectTunnel("127.0.0.1").close());
            }
            download(false);
            download(true);
            double[] directMibs = new double[downloads];
            double[] proxiedMibs = new double[downloads];
            for (int i = 0; i < downloads; i++) {
                directMibs[i] = download(false);
                proxiedMibs[i] = download(true);
            }
            System.out.printf("HTTPS to a local server (JDK HttpsServer, TLS 1.3, JDK client), direct vs through the egress proxy; interleaved; %d cores%n",
                    Runtime.getRuntime().availableProcessors());
            System.out.println("| measure | direct | through the proxy | ratio / difference |");
            System.out.println("|---|---|---|---|");
            double dp50 = Timing.quantileMs(direct, 0.5);
            double pp50 = Timing.quantileMs(proxied, 0.5);
            System.out.printf("| connect until TLS is up, p50 ms (%d each) | %.2f | %.2f | +%.2f ms |%n", connects, dp50, pp50, pp50 - dp50);
            System.out.printf("| connect until TLS is up, p90 ms | %.2f | %.2f | +%.2f ms |%n", Timing.quantileMs(direct, 0.9),
                    Timing.quantileMs(proxied, 0.9), Timing.quantileMs(proxied, 0.9) - Timing.quantileMs(direct, 0.9));
            System.out.printf("| of which: TCP connect + CONNECT answered by the proxy, p50 ms | - | %.2f | |%n", Timing.quantileMs(tunnel, 0.5));
            System.out.printf("| the same to 127.0.0.1 (no name to resolve), p50 ms | - | %.2f | |%n", Timing.quantileMs(literal, 0.5));
            double dm = median(directMibs);
            double pm = median(proxiedMibs);
            System.out.printf("| download of %d MiB, median MiB/s (%d each) | %.0f | %.0f | %.2fx |%n", bodyMib, downloads, dm, pm, pm / dm);
        } finally {
            origin.stop(0);
        }
        return 0;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** A TCP connection through the proxy to the origin, CONNECT answered. */
    private Socket connectTunnel() throws Exception {
        return connectTunnel("localhost");
    }

    private Socket connectTunnel(String host) throws Exception {
        Socket tcp = new Socket();
        tcp.setTcpNoDelay(true);
        tcp.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxyPort));
        OutputStream out = tcp.getOutputStream();
        out.write(("CONNECT " + host + ":" + originPort + " HTTP/1.1\r\nHost: " + host + ":" + originPort + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String head = readHead(tcp.getInputStream());
        if (!head.startsWith("HTTP/1.1 200")) {
            tcp.close();
            throw new IllegalStateException("the proxy refused the benchmark's CONNECT: " + head);
        }
        return tcp;
    }

    /** A TLS connection to the origin, directly or through a CONNECT tunnel, with the handshake done. */
    private SSLSocket handshake(boolean viaProxy) throws Exception {
        Socket tcp;
        if (viaProxy) {
            tcp = connectTunnel();
        } else {
            tcp = new Socket();
            tcp.setTcpNoDelay(true);
            tcp.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), originPort));
        }
        SSLSocket tls = (SSLSocket) clientTls.getSocketFactory().createSocket(tcp, "localhost", originPort, true);
        SSLParameters p = tls.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        tls.setSSLParameters(p);
        tls.startHandshake();
        return tls;
    }

    /** Downloads the body once; returns MiB/s from sending the request to the last byte. */
    private double download(boolean viaProxy) throws Exception {
        try (SSLSocket tls = handshake(viaProxy)) {
            long start = System.nanoTime();
            tls.getOutputStream().write(("GET /body HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            tls.getOutputStream().flush();
            InputStream in = tls.getInputStream();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (total < ((long) bodyMib << 20)) {
                throw new IllegalStateException("download ended after " + total + " bytes");
            }
            return total / (1024.0 * 1024.0) / seconds;
        }
    }

    private static String readHead(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            head.append((char) c);
            if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        return head.toString();
    }

    private HttpsServer origin(byte[] body) throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("egress-bench", Duration.ofDays(1));
        CertificateAuthority.IssuedIdentity id = ca.issueServer(List.of("localhost"), Duration.ofDays(1));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("origin", id.key(), new char[0], id.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 100);
        server.setHttpsConfigurator(new HttpsConfigurator(serverTls));
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.start();
        return server;
    }
}
