package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.daemon.audit.AuditLog;
import io.airlock.daemon.audit.AuditVerifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit log's chain, seal and rotation against every kind of tampering the acceptance names. */
class AuditLogTest {
    @TempDir
    Path dir;
    Path audit;

    @BeforeEach
    void writeALogAcrossThreeRotations() throws Exception {
        audit = dir.resolve("audit");
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            for (int i = 0; i < 60; i++) {
                log.append("command", Map.of("command_id", "c-" + i, "action", "exec", "outcome", i % 7 == 0 ? "POLICY_DENIED" : "OK",
                        "sandbox_id", "box-" + (i % 3)));
            }
        }
    }

    private AuditVerifier.Result verify() throws Exception {
        return AuditVerifier.verify(audit);
    }

    private Path file(int index) {
        return audit.resolve(String.format("audit-%06d.log", index));
    }

    private List<String> lines(Path f) throws Exception {
        return new ArrayList<>(Files.readAllLines(f));
    }

    private void write(Path f, List<String> lines) throws Exception {
        Files.write(f, lines);
    }

    @Test
    void anUntouchedLogWrittenAcrossRotationsVerifies() throws Exception {
        AuditVerifier.Result r = verify();
        assertTrue(r.ok(), r.problem());
        assertTrue(r.files() >= 4, "at least three rotations: " + r.files() + " files");
        assertEquals(61, r.records(), "60 records and the start");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file(1))));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(audit.resolve("audit.key"))));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(audit)));
    }

    @Test
    void oneChangedByteIsCaughtAtItsRecord() throws Exception {
        List<String> l = lines(file(2));
        l.set(3, l.get(3).replace("\"outcome\":\"OK\"", "\"outcome\":\"OJ\""));
        write(file(2), l);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().startsWith("audit-000002.log line 4: the MAC of the record does not match"), r.problem());
    }

    @Test
    void aDeletedRecordIsCaught() throws Exception {
        List<String> l = lines(file(2));
        l.remove(5);
        write(file(2), l);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().startsWith("audit-000002.log line 6") && r.problem().contains("records were removed"), r.problem());
    }

    @Test
    void aTruncatedTailIsCaughtByTheSealedHead() throws Exception {
        int last = 1;
        while (Files.exists(file(last + 1))) {
            last++;
        }
        List<String> l = lines(file(last));
        write(file(last), l.subList(0, l.size() - 1)); // the newest record gone, every remaining line still valid
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().contains("records were cut from the end"), r.problem());
    }

    @Test
    void twoSwappedRecordsAreCaught() throws Exception {
        List<String> l = lines(file(2));
        String a = l.get(2);
        l.set(2, l.get(3));
        l.set(3, a);
        write(file(2), l);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().startsWith("audit-000002.log line 3") && r.problem().contains("reordered"), r.problem());
    }

    @Test
    void aRemovedRotatedFileIsCaught() throws Exception {
        Files.delete(file(2));
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertEquals("audit-000002.log is missing (the next file is audit-000003.log): a rotated file was removed", r.problem());
    }

    @Test
    void aWholeLogRewrittenWithAFreshValidLookingChainIsCaught() throws Exception {
        // The forger writes a perfectly chained log of their own, with a key of their own...
        Path forged = dir.resolve("forged");
        try (AuditLog log = AuditLog.open(forged, 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "innocent", "outcome", "OK"));
        }
        assertTrue(AuditVerifier.verify(forged).ok(), "it verifies under its own key");
        // ...and puts it in place of the real files and head, without the daemon's key.
        for (String name : List.of("audit-000002.log", "audit-000003.log", "audit-000004.log", "audit-000005.log", "audit-000006.log")) {
            Files.deleteIfExists(audit.resolve(name));
        }
        Files.copy(forged.resolve("audit-000001.log"), file(1), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(forged.resolve("audit.head"), audit.resolve("audit.head"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().startsWith("audit-000001.log line 1: the MAC of the record does not match"), r.problem());
    }

    @Test
    void aTornLastLineIsReportedThenSealedOnRestartNeverDropped() throws Exception {
        int last = 1;
        while (Files.exists(file(last + 1))) {
            last++;
        }
        // What a crash mid-write leaves: half a record, no newline.
        String half = "{\"seq\":62,\"ts\":\"2026-11-21T00:00:00Z\",\"type\":\"comm";
        Files.writeString(file(last), half, StandardOpenOption.APPEND);
        AuditVerifier.Result before = verify();
        assertTrue(before.ok(), before.problem());
        assertTrue(before.notes().stream().anyMatch(n -> n.contains("a torn record")), before.notes().toString());

        // A file already past its size limit: the seal must still land right after the torn line.
        try (AuditLog log = AuditLog.open(audit, 64, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after-restart", "outcome", "OK"));
        }
        AuditVerifier.Result after = verify();
        assertTrue(after.ok(), after.problem());
        assertTrue(after.notes().stream().anyMatch(n -> n.contains("sealed by the next record")), after.notes().toString());
        String all = Files.readString(file(last)) + (Files.exists(file(last + 1)) ? Files.readString(file(last + 1)) : "");
        assertTrue(all.contains(half + "\n"), "the torn bytes are kept, not dropped");
        assertTrue(all.contains("\"type\":\"audit.torn\",\"prev\":") && all.contains("\"torn_bytes\":" + half.getBytes(StandardCharsets.UTF_8).length),
                "an audit.torn record names them");
    }

    /** Found by a real SIGKILL (AuditCrashIT): a crash right after a rotation leaves the newest file empty or with a torn first line. */
    @Test
    void aCrashRightAfterARotationResumesTheChainFromThePreviousFile() throws Exception {
        int last = 1;
        while (Files.exists(file(last + 1))) {
            last++;
        }
        Files.createFile(file(last + 1));
        assertTrue(verify().ok(), verify().problem());
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after-empty", "outcome", "OK"));
        }
        AuditVerifier.Result r = verify();
        assertTrue(r.ok(), r.problem());
        assertTrue(Files.readString(file(last + 1)).contains("after-empty"), "the chain went on in the empty file");

        // The same with half a first record in a fresh file.
        int newest = last + 1;
        while (Files.exists(file(newest + 1))) {
            newest++;
        }
        Files.writeString(file(newest + 1), "{\"seq\":9999,\"ts\":\"2026-11-21T00:00:00Z\",\"ty");
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after-torn-first", "outcome", "OK"));
        }
        r = verify();
        assertTrue(r.ok(), r.problem());
        assertTrue(r.notes().stream().anyMatch(n -> n.contains("sealed by the next record")), r.notes().toString());
    }
}
