package io.airlock.connector.grpc.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ca.CertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A key replacement cut short by a crash: after the commit point it is finished, before it is discarded. */
class IdentityRecoveryTest {
    @TempDir
    Path state;
    final CertificateAuthority ca = CertificateAuthority.create("test CA", Duration.ofDays(1));

    X509Certificate write(Path dir, boolean withProperties) throws Exception {
        Files.createDirectories(dir);
        KeyPair keys = CertificateAuthority.newKeyPair();
        X509Certificate cert = ca.issueClient("ag-1", keys.getPublic(), Instant.now().minusSeconds(60), Instant.now().plusSeconds(3600));
        CertificateAuthority.writePrivate(dir.resolve("agent.key"), CertificateAuthority.toPem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(keys.getPrivate(), null)));
        Files.writeString(dir.resolve("agent.crt"), CertificateAuthority.toPem(cert));
        Files.writeString(dir.resolve("ca.pem"), CertificateAuthority.toPem(ca.certificate()));
        if (withProperties) {
            Files.writeString(dir.resolve("agent.properties"), "agent_id=ag-1\ncontrol_plane_address=127.0.0.1\\:7443\n");
        }
        return cert;
    }

    @Test
    void aCommittedReplacementWinsAndIsFinishedAndAnUncommittedOneIsDropped() throws Exception {
        Path dir = AgentIdentity.dir(state);
        X509Certificate old = write(dir, true);
        X509Certificate committed = write(dir.resolve("next"), false);
        write(dir.resolve("next.tmp"), false); // a later attempt that never reached its commit point

        assertEquals(committed, AgentIdentity.load(state).certificate(), "readers see the committed replacement");
        assertTrue(Files.isDirectory(dir.resolve("next")), "load changes nothing");

        AgentIdentity.recover(state);
        assertFalse(Files.exists(dir.resolve("next")));
        assertFalse(Files.exists(dir.resolve("next.tmp")));
        AgentIdentity id = AgentIdentity.load(state);
        assertEquals(committed, id.certificate());
        assertEquals("ag-1", id.agentId());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("agent.key"))));
        assertTrue(!old.equals(id.certificate()));
    }
}
