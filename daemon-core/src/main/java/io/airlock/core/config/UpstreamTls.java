package io.airlock.core.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The TLS context for an MCP server over https: its CA bundle and our client certificate, read
 * from PEM files. The JDK reads PEM certificates but not PEM keys, so BouncyCastle reads the key
 * (PKCS#8, or the traditional "EC/RSA PRIVATE KEY" forms). The HTTP client checks the server's
 * name against its certificate itself.
 */
final class UpstreamTls {
    private UpstreamTls() {}

    static SSLContext context(String field, Path caFile, Path certFile, Path keyFile) {
        try {
            TrustManager[] trust = null;
            if (caFile != null) {
                KeyStore cas = emptyStore();
                int i = 0;
                for (Certificate ca : certificates(caFile)) {
                    cas.setCertificateEntry("ca-" + i++, ca);
                }
                if (i == 0) {
                    throw new GeneralSecurityException(caFile + " holds no PEM certificate");
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(cas);
                trust = tmf.getTrustManagers();
            }
            KeyManager[] keys = null;
            if (certFile != null) {
                Collection<? extends Certificate> chain = certificates(certFile);
                if (chain.isEmpty()) {
                    throw new GeneralSecurityException(certFile + " holds no PEM certificate");
                }
                KeyStore store = emptyStore();
                char[] none = new char[0];
                store.setKeyEntry("client", privateKey(keyFile), none, chain.toArray(Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(store, none);
                keys = kmf.getKeyManagers();
            }
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(keys, trust, null);
            return tls;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException(field + ": cannot read the TLS files (ca_file " + caFile + ", client_cert_file " + certFile
                    + ", client_key_file " + keyFile + "): " + e.getMessage());
        }
    }

    private static KeyStore emptyStore() throws GeneralSecurityException, IOException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        return store;
    }

    private static Collection<? extends Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(file)) {
            return CertificateFactory.getInstance("X.509").generateCertificates(in);
        }
    }

    private static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser pem = new PEMParser(in)) {
            Object o = pem.readObject();
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) {
                return converter.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return converter.getKeyPair(pair).getPrivate();
            }
            throw new GeneralSecurityException(file + " holds no unencrypted PEM private key (expected PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)");
        }
    }
}
