package io.airlock.daemon.config;

import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;

/**
 * The TLS context for an MCP server over https: its CA bundle and our client certificate, read
 * from PEM files with grpc-java's managers (the same ones the control connection uses, which
 * read PEM keys the JDK cannot).
 */
final class UpstreamTls {
    private UpstreamTls() {}

    static SSLContext context(String field, Path caFile, Path certFile, Path keyFile) {
        try {
            TrustManager[] trust = null;
            if (caFile != null) {
                AdvancedTlsX509TrustManager tm = AdvancedTlsX509TrustManager.newBuilder()
                        .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION).build();
                tm.updateTrustCredentials(caFile.toFile());
                trust = new TrustManager[] {tm};
            }
            KeyManager[] keys = null;
            if (certFile != null) {
                AdvancedTlsX509KeyManager km = new AdvancedTlsX509KeyManager();
                km.updateIdentityCredentials(certFile.toFile(), keyFile.toFile());
                keys = new KeyManager[] {km};
            }
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(keys, trust, null);
            return tls;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(field + ": cannot read the TLS files (ca_file " + caFile + ", client_cert_file " + certFile
                    + ", client_key_file " + keyFile + "): " + e.getMessage());
        }
    }
}
