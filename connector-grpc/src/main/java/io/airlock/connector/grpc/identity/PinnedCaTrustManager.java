package io.airlock.connector.grpc.identity;

import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Trusts a server only if its chain contains the CA certificate whose SHA-256 the join token
 * pinned, and the server certificate verifies against that CA. This is how the very first
 * contact avoids trust-on-first-use.
 */
final class PinnedCaTrustManager extends X509ExtendedTrustManager {
    private final String pin;
    private volatile X509Certificate pinnedCa;

    PinnedCaTrustManager(String pin) {
        this.pin = pin;
    }

    /** The CA that matched the pin, once a handshake succeeded. */
    X509Certificate pinnedCa() {
        return pinnedCa;
    }

    private void check(X509Certificate[] chain, String authType) throws CertificateException {
        X509Certificate ca = null;
        for (X509Certificate c : chain) {
            if (sha256(c).equals(pin)) {
                ca = c;
            }
        }
        if (ca == null) {
            throw new CertificateException("the control plane's CA does not match the pin in the join token "
                    + "(expected SHA-256 " + pin + "); the token is for another control plane, or something is intercepting the connection");
        }
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("pinned-ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            ((X509TrustManager) tmf.getTrustManagers()[0]).checkServerTrusted(chain, authType);
        } catch (GeneralSecurityException | IOException e) {
            throw new CertificateException("the control plane's certificate does not verify against its pinned CA: " + e.getMessage(), e);
        }
        pinnedCa = ca;
    }

    static String sha256(X509Certificate cert) throws CertificateException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new CertificateException(e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("not a server trust manager");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("not a server trust manager");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("not a server trust manager");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
