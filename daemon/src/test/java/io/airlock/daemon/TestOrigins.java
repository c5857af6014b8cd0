package io.airlock.daemon;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.airlock.controlplane.ca.CertificateAuthority;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * The servers a sandbox may or may not reach in egress tests: plain HTTP and HTTPS (a certificate
 * for {@code secure.test} from a throwaway CA whose PEM the client trusts), on an address the
 * test picks. Each answers with a fixed text naming itself and counts the requests it served.
 */
final class TestOrigins implements AutoCloseable {
    final HttpServer http;
    final HttpsServer https;
    final String caPem;
    final AtomicInteger requests = new AtomicInteger();

    TestOrigins(String bindAddress) throws Exception {
        InetAddress bind = InetAddress.getByName(bindAddress);
        http = HttpServer.create(new InetSocketAddress(bind, 0), 50);
        http.createContext("/", ex -> answer(ex, "hello over http"));
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        CertificateAuthority ca = CertificateAuthority.create("egress-test-origin", Duration.ofDays(1));
        CertificateAuthority.IssuedIdentity id = ca.issueServer(List.of("secure.test"), Duration.ofDays(1));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("origin", id.key(), new char[0], id.chain().toArray(X509Certificate[]::new));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), null, null);
        https = HttpsServer.create(new InetSocketAddress(bind, 0), 50);
        https.setHttpsConfigurator(new HttpsConfigurator(tls));
        https.createContext("/", ex -> answer(ex, "hello over https"));
        https.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        caPem = CertificateAuthority.toPem(ca.certificate());
        http.start();
        https.start();
    }

    private void answer(HttpExchange ex, String text) throws IOException {
        requests.incrementAndGet();
        byte[] body = (text + " " + ex.getRequestURI() + "\n").getBytes(StandardCharsets.UTF_8);
        ex.getRequestBody().readAllBytes();
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    int httpPort() {
        return http.getAddress().getPort();
    }

    int httpsPort() {
        return https.getAddress().getPort();
    }

    @Override
    public void close() {
        http.stop(0);
        https.stop(0);
    }
}
