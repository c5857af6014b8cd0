package io.airlock.connector.grpc.identity;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * The files enrollment leaves in the state directory's {@code identity/} (0700), each 0600:
 * {@code agent.key}, {@code agent.crt}, {@code ca.pem} and {@code agent.properties} (agent id and
 * control-plane address).
 */
public record AgentIdentity(String agentId, String controlPlaneAddress, PrivateKey key, List<X509Certificate> certificateChain,
        List<X509Certificate> caBundle) {

    public static Path dir(Path stateDir) {
        return stateDir.resolve("identity");
    }

    public static boolean exists(Path stateDir) {
        // A committed but not yet moved enrolment counts: recover() finishes the move.
        return Files.exists(dir(stateDir).resolve("agent.properties")) || Files.exists(dir(stateDir).resolve("next/agent.properties"));
    }

    /**
     * Reads the identity without changing anything (doctor and status read it while the daemon
     * runs): files of a committed but unfinished replacement in {@code next/} win.
     */
    public static AgentIdentity load(Path stateDir) throws EnrollmentException {
        Path dir = dir(stateDir);
        if (!exists(stateDir)) {
            throw new EnrollmentException("this agent is not enrolled (no " + dir.resolve("agent.properties")
                    + "); run 'airlock enroll --token-file FILE' first");
        }
        try {
            Path key = current(dir, "agent.key");
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(key);
            if (perms.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                throw new EnrollmentException(key + " is readable by others (mode "
                        + PosixFilePermissions.toString(perms) + "); expected 0600: run chmod 600 on it");
            }
            Properties p = new Properties();
            try (var r = Files.newBufferedReader(current(dir, "agent.properties"))) {
                p.load(r);
            }
            return new AgentIdentity(p.getProperty("agent_id"), p.getProperty("control_plane_address"),
                    readKey(Files.readString(key)), readCertificates(Files.readString(current(dir, "agent.crt"))),
                    readCertificates(Files.readString(current(dir, "ca.pem"))));
        } catch (IOException e) {
            throw new EnrollmentException("cannot read the agent identity in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static Path current(Path dir, String file) {
        Path committed = dir.resolve("next").resolve(file);
        return Files.exists(committed) ? committed : dir.resolve(file);
    }

    /** Finishes a replacement a crash interrupted; the daemon calls it once at start, before anything reads the identity. */
    public static void recover(Path stateDir) throws IOException {
        Path dir = dir(stateDir);
        if (Files.isDirectory(dir)) {
            rollForward(dir);
        }
    }

    /** Writes a new identity (enrolment); the key file is created 0600 before any byte is written. */
    static void store(Path stateDir, String agentId, String address, String keyPem, String certPem, String caPem) throws IOException {
        Properties p = new Properties();
        p.setProperty("agent_id", agentId);
        p.setProperty("control_plane_address", address);
        StringWriter props = new StringWriter();
        p.store(props, "written by airlock enroll");
        commit(stateDir, keyPem, certPem, caPem, props.toString());
    }

    /** Replaces key, certificate and CA bundle (renewal); agent id and address stay. */
    static void storeRenewal(Path stateDir, String keyPem, String certPem, String caPem) throws IOException {
        commit(stateDir, keyPem, certPem, caPem, null);
    }

    /**
     * Key and certificate must never be seen half-replaced, even after a crash: the new files
     * are written and synced in {@code next.tmp/}, which is then renamed to {@code next/} (the
     * commit point); the files are moved into place from there, and {@link #recover} finishes
     * that move if a crash interrupted it. An uncommitted {@code next.tmp/} is discarded.
     */
    private static void commit(Path stateDir, String keyPem, String certPem, String caPem, String properties) throws IOException {
        Path dir = dir(stateDir);
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        rollForward(dir); // an earlier commit a crash interrupted goes first
        Path tmp = dir.resolve("next.tmp");
        Files.createDirectory(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        writePrivate(tmp.resolve("agent.key"), keyPem);
        // Not secret, but private to the agent like the rest of identity/: every file 0600, as the README says.
        writePrivate(tmp.resolve("agent.crt"), certPem);
        writePrivate(tmp.resolve("ca.pem"), caPem);
        if (properties != null) {
            writePrivate(tmp.resolve("agent.properties"), properties);
        }
        for (String f : FILES) {
            sync(tmp.resolve(f));
        }
        sync(tmp);
        Files.move(tmp, dir.resolve("next"), StandardCopyOption.ATOMIC_MOVE);
        sync(dir);
        rollForward(dir);
    }

    private static final List<String> FILES = List.of("agent.key", "agent.crt", "ca.pem", "agent.properties");

    /** Moves a committed {@code next/} into place and drops an uncommitted {@code next.tmp/}. */
    private static void rollForward(Path dir) throws IOException {
        Path next = dir.resolve("next");
        if (Files.isDirectory(next)) {
            for (String f : FILES) {
                if (Files.exists(next.resolve(f))) {
                    Files.move(next.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            sync(dir);
            Files.delete(next);
        }
        deleteTree(dir.resolve("next.tmp"));
    }

    private static void sync(Path p) throws IOException {
        if (Files.exists(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                ch.force(true);
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (var files = Files.list(p)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
        }
        Files.deleteIfExists(p);
    }

    static void writePrivate(Path file, String content) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, content, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
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
        } catch (CertificateException e) {
            throw new IOException("bad certificate: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new IOException("no certificate found");
        }
        return out;
    }
}
