package io.airlock.controlplane.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.proto.v1.AuditAnchor;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control plane's copy of each agent's audit head: it only goes forward, and it outlives the process. */
class AuditAnchorsTest {
    @TempDir
    Path dir;

    private static AuditAnchor at(long seq, char hash) {
        return AuditAnchor.newBuilder().setSeq(seq).setSha256(String.valueOf(hash).repeat(64)).build();
    }

    @Test
    void aLowerReportOrAnotherHashNeverReplacesTheAnchorAndIsRemembered() {
        AuditAnchors anchors = new AuditAnchors(dir);
        anchors.report("a1", at(10, 'a'));
        anchors.report("a1", at(12, 'b'));
        assertEquals(at(12, 'b'), anchors.get("a1").orElseThrow().anchor());
        assertEquals("", anchors.get("a1").orElseThrow().warning());

        anchors.report("a1", at(5, 'c'));
        assertEquals(12, anchors.get("a1").orElseThrow().anchor().getSeq());
        assertTrue(anchors.get("a1").orElseThrow().warning().contains("reported audit seq 5 after seq 12"));
        anchors.report("a1", at(12, 'd'));
        assertTrue(anchors.get("a1").orElseThrow().warning().contains("another hash for audit seq 12"));

        AuditAnchors reloaded = new AuditAnchors(dir);
        assertEquals(at(12, 'b'), reloaded.get("a1").orElseThrow().anchor());
        assertTrue(reloaded.get("a1").orElseThrow().warning().contains("another hash"));
        assertTrue(reloaded.get("unknown").isEmpty());
    }
}
