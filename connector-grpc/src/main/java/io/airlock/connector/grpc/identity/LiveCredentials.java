package io.airlock.connector.grpc.identity;

import io.grpc.netty.GrpcSslContexts;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;

/**
 * The mTLS client context of the running daemon, built once, whose key, certificate and CA
 * bundle can be replaced in place. Connections already open keep the session they negotiated,
 * so streams on them go on; the next handshake uses the new credentials. grpc-java's
 * AdvancedTls managers do exactly this swap (they are marked experimental; the API we use is
 * two update calls, so a change would be small).
 */
public final class LiveCredentials {
    private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
    private final AdvancedTlsX509TrustManager trust;
    private final SslContext tls;
    private volatile AgentIdentity current;

    public LiveCredentials(AgentIdentity identity) throws IOException {
        try {
            trust = AdvancedTlsX509TrustManager.newBuilder()
                    .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
                    .build();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot set up the TLS trust manager: " + e.getMessage(), e);
        }
        update(identity);
        tls = GrpcSslContexts.configure(SslContextBuilder.forClient().keyManager(keys).trustManager(trust)).build();
    }

    /** Swaps in renewed credentials: the next TLS handshake presents them. */
    public void update(AgentIdentity identity) throws IOException {
        try {
            trust.updateTrustCredentials(identity.caBundle().toArray(X509Certificate[]::new));
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the CA bundle: " + e.getMessage(), e);
        }
        keys.updateIdentityCredentials(identity.certificateChain().toArray(X509Certificate[]::new), identity.key());
        current = identity;
    }

    public SslContext tls() {
        return tls;
    }

    public AgentIdentity current() {
        return current;
    }
}
