package io.airlock.connector.grpc.identity;

import io.airlock.proto.support.JoinToken;
import com.google.protobuf.ByteString;
import io.airlock.proto.v1.EnrollRequest;
import io.airlock.proto.v1.EnrollResponse;
import io.airlock.proto.v1.EnrollmentGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins a control plane: makes an EC P-256 key here, sends a CSR with the token's secret over
 * TLS pinned to the token's CA, and stores the certificate it gets back.
 */
public final class Enroller {
    private static final Logger log = LoggerFactory.getLogger(Enroller.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Clock clock;

    public Enroller(Clock clock) {
        this.clock = clock;
    }

    public AgentIdentity enroll(String tokenText, Path stateDir, String agentName) throws EnrollmentException {
        JoinToken token;
        try {
            token = JoinToken.parse(tokenText);
        } catch (IllegalArgumentException e) {
            throw new EnrollmentException(e.getMessage());
        }
        if (!clock.instant().isBefore(token.expiresAt())) {
            throw new EnrollmentException("the join token expired at " + token.expiresAt() + "; create a new one with 'airlock cp token create'");
        }
        KeyPair keys = KeyMaterial.newKeyPair();
        byte[] csr = KeyMaterial.csr(keys, agentName);
        PinnedCaTrustManager trust = new PinnedCaTrustManager(token.caSha256());
        ManagedChannel channel;
        try {
            channel = NettyChannelBuilder.forTarget(token.address())
                    .sslContext(GrpcSslContexts.configure(SslContextBuilder.forClient().trustManager(trust)).build())
                    .build();
        } catch (IOException e) {
            throw new EnrollmentException("cannot set up TLS: " + e.getMessage(), e);
        }
        try {
            EnrollResponse response = EnrollmentGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .enroll(EnrollRequest.newBuilder().setTokenSecret(token.secret()).setCsrDer(ByteString.copyFrom(csr))
                            .setAgentName(agentName).build());
            AgentIdentity.store(stateDir, response.getAgentId(), token.address(), KeyMaterial.pem(keys.getPrivate()),
                    response.getCertificatePem(), response.getCaBundlePem());
            log.info("enrolled as agent {} with control plane {}", response.getAgentId(), token.address());
            return AgentIdentity.load(stateDir);
        } catch (StatusRuntimeException e) {
            throw new EnrollmentException(describe(e, token), e);
        } catch (IOException e) {
            throw new EnrollmentException("enrolled, but cannot store the identity in " + AgentIdentity.dir(stateDir) + ": " + e.getMessage(), e);
        } finally {
            channel.shutdownNow();
        }
    }

    private static String describe(StatusRuntimeException e, JoinToken token) {
        Status s = e.getStatus();
        Throwable cause = s.getCause();
        while (cause != null) {
            if (cause.getMessage() != null && cause.getMessage().contains("does not match the pin")) {
                return "enrollment refused: " + cause.getMessage();
            }
            cause = cause.getCause();
        }
        return switch (s.getCode()) {
            case UNAUTHENTICATED -> "enrollment refused: " + s.getDescription();
            case UNAVAILABLE -> "cannot reach the control plane at " + token.address() + ": " + s.getDescription()
                    + (s.getCause() != null ? " (" + s.getCause().getMessage() + ")" : "");
            case DEADLINE_EXCEEDED -> "the control plane at " + token.address() + " did not answer within " + TIMEOUT;
            default -> "enrollment failed: " + s.getCode() + ": " + s.getDescription();
        };
    }
}
