package io.airlock.controlplane;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.controlplane.enrollment.CertificatesService;
import io.airlock.controlplane.enrollment.EnrollmentService;
import io.airlock.proto.support.JoinToken;
import io.airlock.controlplane.enrollment.JoinTokenStore;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.AgentGatewayService;
import io.airlock.controlplane.gateway.AgentRegistry;
import io.airlock.controlplane.gateway.AuditAnchors;
import io.airlock.controlplane.gateway.ClientIdentity;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference control plane's gRPC endpoint: Enrollment and AgentGateway on one TLS port.
 * Client certificates are requested, not required, so enrolling agents (which have none yet)
 * can connect; the gateway's {@link ClientIdentity} then requires one. Certificates from other
 * CAs and expired ones fail the TLS handshake itself.
 */
public final class ControlPlaneServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlPlaneServer.class);

    /**
     * @param stateDir            holds the CA (ca.key 0600, ca.crt)
     * @param host                address to listen on
     * @param port                0 for any free port
     * @param advertisedAddress   host:port put in join tokens; null for host:actual-port
     * @param certificateValidity how long agent certificates live
     */
    public record Options(Path stateDir, String host, int port, String advertisedAddress, Duration certificateValidity) {
        public Options {
            if (certificateValidity == null) {
                certificateValidity = Duration.ofHours(24);
            }
        }

        public static Options loopback(Path stateDir, int port) {
            return new Options(stateDir, "127.0.0.1", port, null, null);
        }

        public Options withCertificateValidity(Duration validity) {
            return new Options(stateDir, host, port, advertisedAddress, validity);
        }
    }

    private final Options options;
    private final CertificateAuthority ca;
    private final JoinTokenStore tokens = new JoinTokenStore(Clock.systemUTC());
    private final AgentRegistry registry;
    private final AgentClient client;
    private final Server server;

    private ControlPlaneServer(Options options, CertificateAuthority ca) throws IOException {
        this.options = options;
        this.ca = ca;
        this.registry = new AgentRegistry(new AuditAnchors(options.stateDir().resolve("audit-anchors")));
        this.client = new AgentClient(registry);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(options.host(), options.port()))
                .sslContext(serverTls(ca, options))
                .addService(new EnrollmentService(ca, tokens, options.certificateValidity(), Clock.systemUTC()))
                .addService(ServerInterceptors.intercept(new AgentGatewayService(registry), new ClientIdentity()))
                .addService(ServerInterceptors.intercept(new CertificatesService(ca, options.certificateValidity(), Clock.systemUTC()),
                        new ClientIdentity()))
                // Transport-level keepalive finds dead agents; agents run their own application pings.
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .maxInboundMessageSize(4 << 20)
                .build()
                .start();
        log.info("control plane listening on {} (CA pin {})", address(), ca.pin());
    }

    /** Starts with the CA from {@code options.stateDir()}, creating it on first start. */
    public static ControlPlaneServer start(Options options) throws IOException {
        Files.createDirectories(options.stateDir());
        return new ControlPlaneServer(options, CertificateAuthority.loadOrCreate(options.stateDir()));
    }

    /** Starts with a given CA (tests). */
    public static ControlPlaneServer start(Options options, CertificateAuthority ca) throws IOException {
        return new ControlPlaneServer(options, ca);
    }

    private static SslContext serverTls(CertificateAuthority ca, Options options) throws IOException {
        List<String> names = new ArrayList<>(List.of("localhost", "127.0.0.1", "::1"));
        for (String extra : new String[] {options.host(),
            options.advertisedAddress() == null ? null : options.advertisedAddress().replaceFirst(":[0-9]+$", "")}) {
            if (extra != null && !extra.equals("0.0.0.0") && !names.contains(extra)) {
                names.add(0, extra);
            }
        }
        CertificateAuthority.IssuedIdentity id = ca.issueServer(names, Duration.ofDays(365));
        // The chain includes the CA so an enrolling agent can match it against the token's pin.
        return GrpcSslContexts.configure(SslContextBuilder.forServer(id.key(), id.chain().toArray(X509Certificate[]::new))
                        .trustManager(ca.bundle().toArray(X509Certificate[]::new))
                        .clientAuth(ClientAuth.OPTIONAL))
                .build();
    }

    public int port() {
        return server.getPort();
    }

    /** The address agents dial, as put in join tokens. */
    public String address() {
        return options.advertisedAddress() != null ? options.advertisedAddress() : options.host() + ":" + port();
    }

    public CertificateAuthority ca() {
        return ca;
    }

    public AgentRegistry registry() {
        return registry;
    }

    public AgentClient agents() {
        return client;
    }

    public JoinToken createJoinToken(Duration ttl) {
        return tokens.create(address(), ca.pin(), ttl);
    }

    @Override
    public void close() {
        registry.close();
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            server.shutdownNow();
        }
    }
}
