package io.airlock.daemon.identity;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

/**
 * The files enrollment leaves in the state directory's {@code identity/}: {@code agent.key}
 * (0600), {@code agent.crt}, {@code ca.pem} and {@code agent.properties} (agent id and
 * control-plane address).
 */
public record AgentIdentity(String agentId, String controlPlaneAddress, PrivateKey key, List<X509Certificate> certificateChain,
        List<X509Certificate> caBundle) {

    public static Path dir(Path stateDir) {
        return stateDir.resolve("identity");
    }

    public static boolean exists(Path stateDir) {
        return Files.exists(dir(stateDir).resolve("agent.properties"));
    }

    public static AgentIdentity load(Path stateDir) throws EnrollmentException {
        Path dir = dir(stateDir);
        if (!exists(stateDir)) {
            throw new EnrollmentException("this agent is not enrolled (no " + dir.resolve("agent.properties")
                    + "); run 'airlock enroll --token-file FILE' first");
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir.resolve("agent.key"));
            if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new EnrollmentException(dir.resolve("agent.key") + " is readable by others (mode "
                        + PosixFilePermissions.toString(perms) + "); expected 0600: run chmod 600 on it");
            }
            Properties p = new Properties();
            try (var r = Files.newBufferedReader(dir.resolve("agent.properties"))) {
                p.load(r);
            }
            return new AgentIdentity(p.getProperty("agent_id"), p.getProperty("control_plane_address"),
                    readKey(Files.readString(dir.resolve("agent.key"))), readCertificates(Files.readString(dir.resolve("agent.crt"))),
                    readCertificates(Files.readString(dir.resolve("ca.pem"))));
        } catch (IOException e) {
            throw new EnrollmentException("cannot read the agent identity in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes the identity; the key file is created 0600 before any byte is written. */
    static void store(Path stateDir, String agentId, String address, String keyPem, String certPem, String caPem) throws IOException {
        Path dir = dir(stateDir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        writePrivate(dir.resolve("agent.key"), keyPem);
        Files.writeString(dir.resolve("agent.crt"), certPem);
        Files.writeString(dir.resolve("ca.pem"), caPem);
        Properties p = new Properties();
        p.setProperty("agent_id", agentId);
        p.setProperty("control_plane_address", address);
        try (var w = Files.newBufferedWriter(dir.resolve("agent.properties"))) {
            p.store(w, "written by airlock enroll");
        }
    }

    static void writePrivate(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** The mTLS client context: our key and certificate, trusting only the enrolled CA bundle. */
    public SslContext clientTls() throws IOException {
        return GrpcSslContexts.configure(SslContextBuilder.forClient()
                        .keyManager(key, certificateChain.toArray(X509Certificate[]::new))
                        .trustManager(caBundle.toArray(X509Certificate[]::new)))
                .build();
    }

    public X509Certificate certificate() {
        return certificateChain.get(0);
    }

    static PrivateKey readKey(String pem) throws IOException {
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o = p.readObject();
            JcaPEMKeyConverter c = new JcaPEMKeyConverter();
            if (o instanceof PEMKeyPair kp) {
                return c.getPrivateKey(kp.getPrivateKeyInfo());
            }
            if (o instanceof PrivateKeyInfo info) {
                return c.getPrivateKey(info);
            }
            throw new IOException("agent.key holds no private key");
        }
    }

    static List<X509Certificate> readCertificates(String pem) throws IOException {
        List<X509Certificate> out = new ArrayList<>();
        try (PEMParser p = new PEMParser(new StringReader(pem))) {
            Object o;
            while ((o = p.readObject()) != null) {
                if (o instanceof X509CertificateHolder h) {
                    out.add(new JcaX509CertificateConverter().getCertificate(h));
                }
            }
        } catch (java.security.cert.CertificateException e) {
            throw new IOException("bad certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IOException("no certificate found");
        }
        return out;
    }
}
