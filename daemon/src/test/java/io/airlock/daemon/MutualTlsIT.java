package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.proto.support.JoinToken;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.EnrollmentException;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.Hello;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Enrollment and mutual TLS against the real control plane over loopback. */
class MutualTlsIT {
    @TempDir
    Path dir;
    AgentFixture fx;

    @BeforeEach
    void start() throws Exception {
        fx = new AgentFixture(dir);
    }

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void joinTokenWorksOnceAndStoresKeyWithMode0600() throws Exception {
        String token = fx.cp.createJoinToken(Duration.ofMinutes(5)).encode();
        AgentIdentity id = new Enroller(Clock.systemUTC()).enroll(token, dir.resolve("a1"), "first");
        assertTrue(id.agentId().startsWith("ag-"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(AgentIdentity.dir(dir.resolve("a1")).resolve("agent.key"))));
        EnrollmentException again = assertThrows(EnrollmentException.class,
                () -> new Enroller(Clock.systemUTC()).enroll(token, dir.resolve("a2"), "second"));
        assertTrue(again.getMessage().contains("already used"), again.getMessage());
    }

    @Test
    void expiredJoinTokenIsRefusedWithAClearMessage() throws Exception {
        JoinToken t = fx.cp.createJoinToken(Duration.ofMillis(1));
        Thread.sleep(20);
        EnrollmentException e = assertThrows(EnrollmentException.class,
                () -> new Enroller(Clock.systemUTC()).enroll(t.encode(), dir.resolve("a"), "late"));
        assertTrue(e.getMessage().contains("expired"), e.getMessage());
        // The control plane refuses it too, even if the daemon's clock were wrong.
        Enroller skewed = new Enroller(Clock.fixed(Instant.now().minus(Duration.ofHours(1)), java.time.ZoneOffset.UTC));
        EnrollmentException e2 = assertThrows(EnrollmentException.class, () -> skewed.enroll(t.encode(), dir.resolve("b"), "late"));
        assertTrue(e2.getMessage().contains("expired"), e2.getMessage());
    }

    @Test
    void caPinMismatchIsRefusedBeforeSendingTheSecret() throws Exception {
        JoinToken real = fx.cp.createJoinToken(Duration.ofMinutes(5));
        String otherPin = CertificateAuthority.create("someone else", Duration.ofDays(1)).pin();
        JoinToken forged = new JoinToken(real.address(), otherPin, real.secret(), real.expiresAt());
        EnrollmentException e = assertThrows(EnrollmentException.class,
                () -> new Enroller(Clock.systemUTC()).enroll(forged.encode(), dir.resolve("a"), "pinned"));
        assertTrue(e.getMessage().contains("does not match the pin"), e.getMessage());
        // The secret never reached the server, so the genuine token still works.
        new Enroller(Clock.systemUTC()).enroll(real.encode(), dir.resolve("b"), "genuine");
    }

    @Test
    void clientCertificateFromAForeignCaIsRejected() throws Exception {
        CertificateAuthority foreign = CertificateAuthority.create("foreign", Duration.ofDays(1));
        KeyPair keys = CertificateAuthority.newKeyPair();
        X509Certificate cert = foreign.issueClient("ag-intruder", keys.getPublic(), Instant.now().minusSeconds(60), Instant.now().plusSeconds(3600));
        Status s = controlStreamFailure(keys.getPrivate(), cert, "ag-intruder");
        assertTrue(s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.UNAUTHENTICATED, s.toString());
        assertTrue(fx.cp.registry().agents().isEmpty(), "no agent may be registered");
    }

    @Test
    void expiredClientCertificateIsRejected() throws Exception {
        KeyPair keys = CertificateAuthority.newKeyPair();
        X509Certificate cert = fx.cp.ca().issueClient("ag-expired", keys.getPublic(), Instant.now().minus(Duration.ofDays(2)),
                Instant.now().minus(Duration.ofDays(1)));
        Status s = controlStreamFailure(keys.getPrivate(), cert, "ag-expired");
        assertTrue(s.getCode() == Status.Code.UNAVAILABLE || s.getCode() == Status.Code.UNAUTHENTICATED, s.toString());
        assertTrue(fx.cp.registry().agents().isEmpty(), "no agent may be registered");
    }

    @Test
    void missingClientCertificateIsUnauthenticated() throws Exception {
        Status s = controlStreamFailure(null, null, "ag-anonymous");
        assertEquals(Status.Code.UNAUTHENTICATED, s.getCode(), s.toString());
        assertTrue(s.getDescription().contains("enrol"), s.getDescription());
    }

    @Test
    void validCertificateConnects() throws Exception {
        fx.enrollAndStart();
        assertTrue(fx.cp.registry().awaitConnected(fx.agentId, h -> true, Duration.ofSeconds(10)));
    }

    /** Opens a Control stream with the given client identity and returns how it failed. */
    private Status controlStreamFailure(PrivateKey key, X509Certificate cert, String agentId) throws Exception {
        SslContextBuilder b = SslContextBuilder.forClient().trustManager(fx.cp.ca().certificate());
        if (key != null) {
            b.keyManager(key, cert);
        }
        ManagedChannel ch = NettyChannelBuilder.forTarget("127.0.0.1:" + fx.port).sslContext(GrpcSslContexts.configure(b).build()).build();
        try {
            CompletableFuture<Status> failure = new CompletableFuture<>();
            StreamObserver<AgentMessage> out = AgentGatewayGrpc.newStub(ch).control(new StreamObserver<>() {
                @Override
                public void onNext(ControlPlaneMessage m) {
                    failure.completeExceptionally(new AssertionError("control plane answered: " + m));
                }

                @Override
                public void onError(Throwable t) {
                    failure.complete(Status.fromThrowable(t));
                }

                @Override
                public void onCompleted() {
                    failure.completeExceptionally(new AssertionError("stream completed normally"));
                }
            });
            out.onNext(AgentMessage.newBuilder().setHello(Hello.newBuilder().setAgentId(agentId)).build());
            return failure.get(10, TimeUnit.SECONDS);
        } finally {
            ch.shutdownNow();
        }
    }
}
