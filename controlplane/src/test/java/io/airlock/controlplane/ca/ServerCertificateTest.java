package io.airlock.controlplane.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What an agent needs of a control plane's server certificate (docs/protocol.md, "Implementing
 * a control plane"): the dialled names as SANs, serverAuth, and the CA in the chain it serves.
 */
class ServerCertificateTest {
    @Test
    void aServerCertificateNamesItsAddressesIsForServersAndCarriesItsCa() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test CA", Duration.ofDays(30));
        CertificateAuthority.IssuedIdentity id = ca.issueServer(List.of("cp.example.com", "10.1.2.3", "::1"), Duration.ofDays(1));
        X509Certificate leaf = id.chain().get(0);
        leaf.verify(ca.certificate().getPublicKey());
        assertEquals(ca.certificate(), id.chain().get(1), "the chain ends with the CA an enrolling agent pins");
        List<String> sans = leaf.getSubjectAlternativeNames().stream().map(n -> n.get(0) + ":" + n.get(1)).toList();
        assertTrue(sans.contains("2:cp.example.com") && sans.contains("7:10.1.2.3") && sans.stream().anyMatch(s -> s.startsWith("7:0:0:0:0:0:0:0:1")),
                sans.toString());
        assertTrue(leaf.getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1"), "serverAuth: " + leaf.getExtendedKeyUsage());
        assertEquals(id.key().getAlgorithm(), leaf.getPublicKey().getAlgorithm());
    }
}
