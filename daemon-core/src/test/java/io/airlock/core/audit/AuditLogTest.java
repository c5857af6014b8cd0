package io.airlock.core.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditAnchor;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.audit.AuditVerifier;
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
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(audit.resolve("audit.head"))));
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
        Files.writeString(file(newest + 1), "{\"seq\":" + (r.records() + 1) + ",\"ts\":\"2026-11-21T00:00:00Z\",\"ty");
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after-torn-first", "outcome", "OK"));
        }
        r = verify();
        assertTrue(r.ok(), r.problem());
        assertTrue(r.notes().stream().anyMatch(n -> n.contains("sealed by the next record")), r.notes().toString());
    }

    private int newest() {
        int last = 1;
        while (Files.exists(file(last + 1))) {
            last++;
        }
        return last;
    }

    /** Issue 17.1: a record line is MAC'd under the log key; the head under a key derived for heads. */
    @Test
    void aRecordLineCopiedOverTheHeadAfterCuttingTheTailIsCaught() throws Exception {
        Files.delete(file(newest())); // the newest file gone, then two records of the one before
        List<String> l = lines(file(newest()));
        String kept = l.get(l.size() - 3);
        write(file(newest()), l.subList(0, l.size() - 2));
        Files.writeString(audit.resolve("audit.head"), kept + "\n");
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().startsWith("the MAC of audit.head does not match"), r.problem());
    }

    /** Issue 17.1: the head's hash is checked at the head's seq, whatever follows. */
    @Test
    void aReplacedRecordAtTheHeadsSeqIsCaughtEvenWithARecordAfterIt() throws Exception {
        String head = Files.readString(audit.resolve("audit.head"));
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "later", "outcome", "OK"));
        }
        Files.writeString(audit.resolve("audit.head"), head); // an older genuine head: more than one record past it now
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().contains("records past its sealed head (seq 61)") && r.problem().contains("an older head was put back"),
                r.problem());
    }

    /** Issue 17.2: a rollback to an older genuine head, tail cut to match, verifies locally but not against the anchor. */
    @Test
    void aRollbackToAnOlderGenuineHeadIsCaughtOnlyByTheAnchor() throws Exception {
        Path saved = dir.resolve("saved");
        copyTree(audit, saved);
        AuditAnchor anchor;
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "incriminating", "outcome", "OK"));
            anchor = log.durableHead().orElseThrow();
        }
        assertEquals(63, anchor.seq(), "the start and the record are on disk");
        assertTrue(AuditVerifier.verify(audit, anchor, x -> { }).ok());
        // The attacker puts the whole older directory back: every file genuine.
        copyTree(saved, audit);
        assertTrue(verify().ok(), "locally a rolled-back log is indistinguishable");
        AuditVerifier.Result r = AuditVerifier.verify(audit, anchor, x -> { });
        assertFalse(r.ok());
        assertTrue(r.problem().contains("the control plane's anchor is at seq 63") && r.problem().contains("rollback"), r.problem());

        // Rewriting from the anchored record on under the stolen key is caught at that record.
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "innocent", "outcome", "OK"));
        }
        r = AuditVerifier.verify(audit, anchor, x -> { });
        assertFalse(r.ok());
        assertTrue(r.problem().contains("(seq 63): not the record the control plane's anchor"), r.problem());
    }

    private static void copyTree(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(to)) {
            for (Path p : files.toList()) {
                Files.delete(p);
            }
        }
        try (var files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    /** Issue 17.3: a whole line without its newline and with a bad MAC is no torn write. */
    @Test
    void aForgedRecordAppendedWithoutANewlineIsFlaggedNotSealedAsTorn() throws Exception {
        List<String> l = lines(file(newest()));
        String forged = l.getLast().replace("\"seq\":61", "\"seq\":62").replace("\"type\":\"", "\"type\":\"x");
        Files.writeString(file(newest()), forged, StandardOpenOption.APPEND);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().contains("not a torn write"), r.problem());
        var refused = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100)));
        assertTrue(refused.getMessage().contains("not a torn write") && refused.getMessage().contains("does not seal it"), refused.getMessage());
        assertFalse(Files.readString(file(newest())).endsWith(forged + "\n"), "nothing was appended after it");
    }

    /** Issue 17.3: bytes that do not begin like the next record are no torn write either. */
    @Test
    void garbageAppendedWithoutANewlineIsFlagged() throws Exception {
        Files.writeString(file(newest()), "{\"seq\":1,\"ts\":\"", StandardOpenOption.APPEND);
        AuditVerifier.Result r = verify();
        assertFalse(r.ok());
        assertTrue(r.problem().contains("do not begin like record seq 62"), r.problem());
    }

    /** A crash between the record and its newline: the record stands, and the next start completes it. */
    @Test
    void aRecordMissingOnlyItsNewlineIsCompletedOnRestart() throws Exception {
        Path f = file(newest());
        byte[] bytes = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        AuditVerifier.Result r = verify();
        assertTrue(r.ok(), r.problem());
        assertEquals(61, r.records());
        try (AuditLog log = AuditLog.open(audit, 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after", "outcome", "OK"));
        }
        r = verify();
        assertTrue(r.ok(), r.problem());
        assertEquals(63, r.records());
    }

    /** A torn write cut inside a UTF-8 sequence is sealed and verifies by its bytes. */
    @Test
    void aTornWriteCutInsideAUtf8SequenceIsSealed() throws Exception {
        byte[] half = "{\"seq\":62,\"ts\":\"2026-11-21T00:00:00Z\",\"type\":\"command\",\"x\":\"\u00e9".getBytes(StandardCharsets.UTF_8);
        Files.write(file(newest()), java.util.Arrays.copyOf(half, half.length - 1), StandardOpenOption.APPEND);
        try (AuditLog log = AuditLog.open(audit, 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after", "outcome", "OK"));
        }
        AuditVerifier.Result r = verify();
        assertTrue(r.ok(), r.problem());
    }

    /** Found with a real SIGTERM: the stopping daemon interrupts its threads, and a FileChannel closes for good on an interrupt. */
    @Test
    void anInterruptedWriterDoesNotSilenceTheLog() throws Exception {
        try (AuditLog log = AuditLog.open(audit, 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            Thread.currentThread().interrupt();
            try {
                log.append("command", Map.of("command_id", "while-interrupted", "outcome", "OK"));
            } finally {
                Thread.interrupted();
            }
            log.append("command", Map.of("command_id", "after", "outcome", "OK"));
        }
        AuditVerifier.Result r = verify();
        assertTrue(r.ok(), r.problem());
        assertEquals(64, r.records(), "61, the start and both records");
    }
}
