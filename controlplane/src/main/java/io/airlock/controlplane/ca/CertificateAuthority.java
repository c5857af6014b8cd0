package io.airlock.controlplane.ca;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * The control plane's CA: an EC P-256 key and self-signed certificate kept in the state
 * directory (key mode 0600), which signs the gRPC server's certificate and short-lived agent
 * client certificates from CSRs (the agent's key never leaves its host).
 */
public final class CertificateAuthority {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SIGNATURE = "SHA256withECDSA";

    /** Files of a CA rotation in the state directory: the next CA (trusted, not yet signing) and the previous one (still trusted). */
    static final String NEXT_KEY = "ca-next.key";
    static final String NEXT_CERT = "ca-next.crt";
    static final String PREVIOUS_CERT = "ca-previous.crt";

    private final PrivateKey caKey;
    private final X509Certificate caCert;
    private final List<X509Certificate> alsoTrusted;

    private CertificateAuthority(PrivateKey caKey, X509Certificate caCert, List<X509Certificate> alsoTrusted) {
        this.caKey = caKey;
        this.caCert = caCert;
        this.alsoTrusted = List.copyOf(alsoTrusted);
    }

    /** A fresh CA in memory (tests use this to make foreign CAs). */
    public static CertificateAuthority create(String name, Duration validity) {
        try {
            KeyPair keys = newKeyPair();
            Instant now = Instant.now();
            X500Name subject = new X500Name("CN=" + name);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keys.getPublic()));
            return new CertificateAuthority(keys.getPrivate(), sign(b, keys.getPrivate()), List.of());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot create CA: " + e.getMessage(), e);
        }
    }

    /**
     * Loads the signing CA ({@code ca.key}/{@code ca.crt}) from {@code dir}, creating it on first
     * use, with the other CAs a rotation keeps trusted ({@code ca-next.crt}, {@code ca-previous.crt}).
     */
    public static CertificateAuthority loadOrCreate(Path dir) throws IOException {
        Path key = dir.resolve("ca.key");
        Path cert = dir.resolve("ca.crt");
        if (!Files.exists(key) || !Files.exists(cert)) {
            writeNew(dir, "ca.key", "ca.crt");
        }
        try {
            List<X509Certificate> others = new ArrayList<>();
            for (String name : List.of(NEXT_CERT, PREVIOUS_CERT)) {
                if (Files.exists(dir.resolve(name))) {
                    others.add(readCertificates(Files.readString(dir.resolve(name))).get(0));
                }
            }
            return new CertificateAuthority(readPrivateKey(Files.readString(key)), readCertificates(Files.readString(cert)).get(0), others);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read CA from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void writeNew(Path dir, String keyName, String certName) throws IOException {
        CertificateAuthority ca = create("Airlock reference control plane CA " + serial().toString(16).substring(0, 8), Duration.ofDays(3650));
        writePrivate(dir.resolve(keyName), toPem(new JcaPKCS8Generator(ca.caKey, null)));
        Files.writeString(dir.resolve(certName), toPem(ca.caCert));
    }

    /**
     * CA rotation, step 1: makes the next CA. From the next start it is trusted and handed to
     * agents in the CA bundle (on enrolment and on every renewal), while the current CA still signs.
     */
    public static void beginRotation(Path dir) throws IOException {
        if (!Files.exists(dir.resolve("ca.crt"))) {
            throw new IOException("no CA in " + dir + " (expected ca.crt and ca.key: the control plane's state directory)");
        }
        if (Files.exists(dir.resolve(NEXT_CERT))) {
            throw new IOException("a CA rotation is already under way (" + dir.resolve(NEXT_CERT) + " exists); finish it first");
        }
        writeNew(dir, NEXT_KEY, NEXT_CERT);
    }

    /**
     * Step 2, once every agent renewed since step 1: the next CA signs (server certificate
     * included) from the next start; the old one stays trusted as the previous CA, so agents
     * holding certificates it signed keep connecting until they renew.
     */
    public static void finishRotation(Path dir) throws IOException {
        if (!Files.exists(dir.resolve(NEXT_CERT)) || !Files.exists(dir.resolve(NEXT_KEY))) {
            throw new IOException("no CA rotation under way (no " + dir.resolve(NEXT_CERT) + "); begin one first");
        }
        Files.move(dir.resolve("ca.crt"), dir.resolve(PREVIOUS_CERT), StandardCopyOption.REPLACE_EXISTING);
        Files.delete(dir.resolve("ca.key"));
        Files.move(dir.resolve(NEXT_KEY), dir.resolve("ca.key"));
        Files.move(dir.resolve(NEXT_CERT), dir.resolve("ca.crt"));
    }

    /** Step 3, once every certificate the previous CA signed has expired: stop trusting it. */
    public static void retirePrevious(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(PREVIOUS_CERT));
    }

    /** The signing CA. */
    public X509Certificate certificate() {
        return caCert;
    }

    /** Every CA trusted for agent certificates and handed to agents: the signing CA first. */
    public List<X509Certificate> bundle() {
        List<X509Certificate> all = new ArrayList<>(alsoTrusted.size() + 1);
        all.add(caCert);
        all.addAll(alsoTrusted);
        return all;
    }

    /** SHA-256 of the CA certificate's DER encoding, lower-case hex: the pin join tokens carry. */
    public String pin() {
        return sha256Hex(caCert);
    }

    public static String sha256Hex(X509Certificate cert) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A key pair and certificate for the gRPC server, valid for the given names and addresses. */
    public IssuedIdentity issueServer(List<String> names, Duration validity) {
        try {
            KeyPair keys = newKeyPair();
            List<GeneralName> sans = new ArrayList<>();
            for (String n : names) {
                boolean ip = n.matches("[0-9.]+") || n.contains(":");
                sans.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName,
                        ip ? InetAddress.getByName(n).getHostAddress() : n));
            }
            X509Certificate cert = issue("CN=" + names.get(0), keys.getPublic(), Instant.now().minus(Duration.ofMinutes(5)),
                    Instant.now().plus(validity), KeyPurposeId.id_kp_serverAuth, new GeneralNames(sans.toArray(GeneralName[]::new)));
            return new IssuedIdentity(keys.getPrivate(), List.of(cert, caCert));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * How far back an agent certificate's notBefore is put, so that an agent whose clock is a
     * little behind can still use it: five minutes, or a tenth of a short validity.
     */
    static Duration backdate(Duration validity) {
        Duration tenth = validity.dividedBy(10);
        return tenth.compareTo(Duration.ofMinutes(5)) < 0 ? tenth : Duration.ofMinutes(5);
    }

    /** Signs an agent's CSR, valid from {@link #backdate} before {@code now} for {@code validity} after it (enrolment and renewal). */
    public X509Certificate signAgent(byte[] csrDer, String agentId, Instant now, Duration validity) {
        return signAgent(csrDer, agentId, now.minus(backdate(validity)), now.plus(validity));
    }

    /** Signs an agent's CSR: the certificate's CN is the agent id, whatever the CSR asked for. */
    public X509Certificate signAgent(byte[] csrDer, String agentId, Instant notBefore, Instant notAfter) {
        PKCS10CertificationRequest csr;
        try {
            csr = new PKCS10CertificationRequest(csrDer);
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(csr.getSubjectPublicKeyInfo()))) {
                throw new IllegalArgumentException("CSR signature does not verify (expected: a CSR signed by the key it carries)");
            }
            PublicKey key = new JcaPEMKeyConverter().getPublicKey(csr.getSubjectPublicKeyInfo());
            return issue("CN=" + agentId, key, notBefore, notAfter, KeyPurposeId.id_kp_clientAuth, null);
        } catch (IOException | OperatorCreationException | PKCSException | RuntimeException e) {
            if (e instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalArgumentException("malformed CSR: " + e.getMessage() + " (expected: DER-encoded PKCS#10)", e);
        }
    }

    /** Issues a client certificate for an existing public key (tests use it for expired certificates). */
    public X509Certificate issueClient(String agentId, PublicKey key, Instant notBefore, Instant notAfter) {
        return issue("CN=" + agentId, key, notBefore, notAfter, KeyPurposeId.id_kp_clientAuth, null);
    }

    private X509Certificate issue(String subject, PublicKey key, Instant notBefore, Instant notAfter, KeyPurposeId purpose,
            GeneralNames sans) {
        try {
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(notBefore),
                    Date.from(notAfter), new X500Name(subject), key);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
            if (sans != null) {
                b.addExtension(Extension.subjectAlternativeName, false, sans);
            }
            return sign(b, caKey);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue certificate: " + e.getMessage(), e);
        }
    }

    public static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    public static String toPem(Object... objects) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (Object o : objects) {
                w.writeObject(o);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString();
    }

    public static List<X509Certificate> readCertificates(String pem) throws GeneralSecurityException, IOException {
        List<X509Certificate> certs = new ArrayList<>();
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o;
            while ((o = p.readObject()) != null) {
                if (o instanceof X509CertificateHolder h) {
                    certs.add(new JcaX509CertificateConverter().getCertificate(h));
                }
            }
        }
        if (certs.isEmpty()) {
            throw new GeneralSecurityException("no certificate in PEM input");
        }
        return certs;
    }

    private static PrivateKey readPrivateKey(String pem) throws IOException {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o = p.readObject();
            if (o instanceof PEMKeyPair kp) {
                return new JcaPEMKeyConverter().getPrivateKey(kp.getPrivateKeyInfo());
            }
            if (o instanceof PrivateKeyInfo info) {
                return new JcaPEMKeyConverter().getPrivateKey(info);
            }
            throw new IOException("expected a private key in PEM, found " + (o == null ? "nothing" : o.getClass().getSimpleName()));
        }
    }

    /** Writes a secret file created with mode 0600 (never world-readable, not even briefly). */
    public static void writePrivate(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** A private key with its certificate chain (leaf first). */
    public record IssuedIdentity(PrivateKey key, List<X509Certificate> chain) {}
}
