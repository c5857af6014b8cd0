package io.airlock.connector.grpc.identity;

import com.google.protobuf.ByteString;
import io.airlock.proto.v1.CertificatesGrpc;
import io.airlock.proto.v1.RenewRequest;
import io.airlock.proto.v1.RenewResponse;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews the agent certificate at two thirds of its lifetime: a new key made here, a CSR sent
 * over the live mTLS channel, the answer checked, stored (crash-safe) and swapped into
 * {@link LiveCredentials} without touching open streams. A failed attempt is retried at a
 * tenth of the time left (between 1 s and 5 min), so a renewal outlives a control-plane outage
 * shorter than the last third of the lifetime.
 */
public final class CertificateRenewer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CertificateRenewer.class);
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(30);

    /** What the daemon audits and counts. */
    public interface Listener {
        void renewed(AgentIdentity before, AgentIdentity after);

        void failed(String reason, Instant nextAttempt);
    }

    private final Path stateDir;
    private final LiveCredentials credentials;
    private final Supplier<Channel> liveChannel;
    private final Clock clock;
    private final Listener listener;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "airlock-renewal");
        t.setDaemon(true);
        return t;
    });

    /** @param liveChannel the Control connection's channel, or null while there is none */
    public CertificateRenewer(Path stateDir, LiveCredentials credentials, Supplier<Channel> liveChannel, Clock clock, Listener listener) {
        this.stateDir = stateDir;
        this.credentials = credentials;
        this.liveChannel = liveChannel;
        this.clock = clock;
        this.listener = listener;
    }

    public void start() {
        scheduleAt(renewAt(credentials.current().certificate()));
    }

    /** Two thirds into the certificate's validity. */
    public static Instant renewAt(X509Certificate cert) {
        Instant from = cert.getNotBefore().toInstant();
        Duration lifetime = Duration.between(from, cert.getNotAfter().toInstant());
        return from.plus(lifetime.multipliedBy(2).dividedBy(3));
    }

    private void scheduleAt(Instant when) {
        long delay = Math.max(0, Duration.between(clock.instant(), when).toMillis());
        log.debug("certificate renewal scheduled for {}", when);
        try {
            timer.schedule(this::attempt, delay, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            log.debug("renewer closed");
        }
    }

    private void attempt() {
        AgentIdentity before = credentials.current();
        try {
            AgentIdentity after = renew(before);
            log.info("certificate renewed: serial {}, valid until {}; {} CA(s) trusted", after.certificate().getSerialNumber().toString(16),
                    after.certificate().getNotAfter().toInstant(), after.caBundle().size());
            listener.renewed(before, after);
            scheduleAt(renewAt(after.certificate()));
        } catch (RenewalException e) {
            Instant notAfter = before.certificate().getNotAfter().toInstant();
            Instant now = clock.instant();
            Instant next = now.plus(retryDelay(now, notAfter));
            if (e.notConnected && now.isBefore(notAfter)) {
                // Not a failure yet (a start, a reconnect): connection losses are reported where they happen.
                log.debug("certificate renewal due; no control connection yet, next attempt at {}", next);
                scheduleAt(next);
                return;
            }
            String reason = now.isAfter(notAfter) ? e.getMessage() + "; the certificate expired at " + notAfter
                    + ", so the control plane will refuse it: enrol again ('airlock enroll --force')" : e.getMessage();
            log.warn("certificate renewal failed: {}; next attempt at {}", reason, next);
            listener.failed(reason, next);
            scheduleAt(next);
        }
    }

    static Duration retryDelay(Instant now, Instant notAfter) {
        Duration tenth = Duration.between(now, notAfter).dividedBy(10);
        if (tenth.compareTo(Duration.ofSeconds(1)) < 0) {
            return now.isAfter(notAfter) ? Duration.ofMinutes(5) : Duration.ofSeconds(1);
        }
        return tenth.compareTo(Duration.ofMinutes(5)) > 0 ? Duration.ofMinutes(5) : tenth;
    }

    private AgentIdentity renew(AgentIdentity before) throws RenewalException {
        Channel channel = liveChannel.get();
        if (channel == null) {
            throw new RenewalException("no live connection to the control plane", true);
        }
        KeyPair keys = KeyMaterial.newKeyPair();
        RenewResponse response;
        try {
            response = CertificatesGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .renew(RenewRequest.newBuilder().setCsrDer(ByteString.copyFrom(KeyMaterial.csr(keys, before.agentId()))).build());
        } catch (StatusRuntimeException e) {
            throw new RenewalException("the control plane refused or did not answer: " + e.getStatus().getCode()
                    + (e.getStatus().getDescription() == null ? "" : " " + e.getStatus().getDescription()));
        }
        try {
            List<X509Certificate> chain = AgentIdentity.readCertificates(response.getCertificatePem());
            List<X509Certificate> bundle = AgentIdentity.readCertificates(response.getCaBundlePem());
            check(chain.get(0), keys, bundle);
            AgentIdentity.storeRenewal(stateDir, KeyMaterial.pem(keys.getPrivate()), response.getCertificatePem(), response.getCaBundlePem());
            AgentIdentity after = AgentIdentity.load(stateDir);
            credentials.update(after);
            return after;
        } catch (IOException | EnrollmentException e) {
            throw new RenewalException("cannot use or store the renewed certificate: " + e.getMessage());
        }
    }

    /** The new certificate must carry the key we just made and be signed by a CA of the new bundle. */
    private static void check(X509Certificate cert, KeyPair keys, List<X509Certificate> bundle) throws IOException {
        if (!cert.getPublicKey().equals(keys.getPublic())) {
            throw new IOException("the certificate is for another key than the one this daemon sent");
        }
        for (X509Certificate ca : bundle) {
            try {
                cert.verify(ca.getPublicKey());
                return;
            } catch (GeneralSecurityException e) {
                // try the next CA of the bundle
            }
        }
        throw new IOException("the certificate is signed by none of the " + bundle.size() + " CA(s) of the bundle sent with it");
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    private static final class RenewalException extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean notConnected;

        RenewalException(String message) {
            this(message, false);
        }

        RenewalException(String message, boolean notConnected) {
            super(message);
            this.notConnected = notConnected;
        }
    }
}
