package io.airlock.controlplane.enrollment;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.controlplane.gateway.ClientIdentity;
import io.airlock.proto.v1.CertificatesGrpc;
import io.airlock.proto.v1.RenewRequest;
import io.airlock.proto.v1.RenewResponse;
import io.airlock.proto.v1.ServerTimeRequest;
import io.airlock.proto.v1.ServerTimeResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews an enrolled agent's certificate. Runs behind {@link ClientIdentity}: the agent id is
 * the CN of the certificate the caller presented in the TLS handshake, so an agent can only
 * ever renew itself.
 */
public final class CertificatesService extends CertificatesGrpc.CertificatesImplBase {
    private static final Logger log = LoggerFactory.getLogger(CertificatesService.class);

    private final CertificateAuthority ca;
    private final Duration certificateValidity;
    private final Clock clock;

    public CertificatesService(CertificateAuthority ca, Duration certificateValidity, Clock clock) {
        this.ca = ca;
        this.certificateValidity = certificateValidity;
        this.clock = clock;
    }

    @Override
    public void renew(RenewRequest request, StreamObserver<RenewResponse> response) {
        String agentId = ClientIdentity.AGENT_ID.get();
        Instant now = clock.instant();
        X509Certificate cert;
        try {
            cert = ca.signAgent(request.getCsrDer().toByteArray(), agentId, now, certificateValidity);
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        log.info("renewed the certificate of agent {}, valid until {}", agentId, cert.getNotAfter().toInstant());
        response.onNext(RenewResponse.newBuilder()
                .setCertificatePem(CertificateAuthority.toPem(cert))
                .setCaBundlePem(CertificateAuthority.toPem(ca.bundle().toArray()))
                .build());
        response.onCompleted();
    }

    @Override
    public void serverTime(ServerTimeRequest request, StreamObserver<ServerTimeResponse> response) {
        response.onNext(ServerTimeResponse.newBuilder().setUnixTimeMs(clock.millis()).build());
        response.onCompleted();
    }
}
