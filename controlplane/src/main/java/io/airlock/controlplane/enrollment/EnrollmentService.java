package io.airlock.controlplane.enrollment;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.proto.v1.EnrollRequest;
import io.airlock.proto.v1.EnrollResponse;
import io.airlock.proto.v1.EnrollmentGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Exchanges a join token and a CSR for a short-lived agent certificate. */
public final class EnrollmentService extends EnrollmentGrpc.EnrollmentImplBase {
    private static final Logger log = LoggerFactory.getLogger(EnrollmentService.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final CertificateAuthority ca;
    private final JoinTokenStore tokens;
    private final Duration certificateValidity;
    private final Clock clock;

    public EnrollmentService(CertificateAuthority ca, JoinTokenStore tokens, Duration certificateValidity, Clock clock) {
        this.ca = ca;
        this.tokens = tokens;
        this.certificateValidity = certificateValidity;
        this.clock = clock;
    }

    @Override
    public void enroll(EnrollRequest request, StreamObserver<EnrollResponse> response) {
        try {
            tokens.redeem(request.getTokenSecret());
        } catch (JoinTokenStore.InvalidTokenException e) {
            log.warn("enrollment refused: {}", e.getMessage());
            response.onError(Status.UNAUTHENTICATED.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        String agentId = "ag-" + HexFormat.of().formatHex(randomBytes());
        X509Certificate cert;
        try {
            Instant now = clock.instant();
            cert = ca.signAgent(request.getCsrDer().toByteArray(), agentId, now, certificateValidity);
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        log.info("enrolled agent {} (name '{}'), certificate valid until {}", agentId, request.getAgentName(), cert.getNotAfter().toInstant());
        response.onNext(EnrollResponse.newBuilder()
                .setAgentId(agentId)
                .setCertificatePem(CertificateAuthority.toPem(cert))
                .setCaBundlePem(CertificateAuthority.toPem(ca.bundle().toArray()))
                .build());
        response.onCompleted();
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[8];
        RANDOM.nextBytes(b);
        return b;
    }
}
