package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditLog;
import io.airlock.core.audit.AuditVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A process appending audit records as fast as it can is SIGKILLed, for real, several times;
 * each time the log still verifies (a record past the sealed head is the crash between the
 * two writes, and is accepted), and the next writer continues the same chain. A kill cannot
 * tear a line here (a record is one write(2) to a local file); torn lines, which a power cut
 * or a full disk can leave, are covered by AuditLogTest.
 */
class AuditCrashIT {
    @TempDir
    Path dir;

    /** The child: appends records until killed. */
    public static void main(String[] args) throws Exception {
        try (AuditLog log = AuditLog.open(Path.of(args[0]), 8192, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            for (long i = 0; ; i++) {
                log.append("test", Map.of("i", i, "pad", "x".repeat(100)));
            }
        }
    }

    @Test
    void aWriterKilledMidStreamLeavesALogThatVerifiesAndContinues() throws Exception {
        Path audit = dir.resolve("audit");
        long before = 0;
        for (int round = 0; round < 3; round++) {
            String javaBin = ProcessHandle.current().info().command().orElse("java");
            Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), AuditCrashIT.class.getName(),
                    audit.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (records(audit) < before + 200) {
                assertTrue(child.isAlive() && System.nanoTime() < deadline, "the writer appends; its output: " + Files.readString(dir.resolve("child.log")));
                Thread.sleep(10);
            }
            child.destroyForcibly();
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
            AuditVerifier.Result r = AuditVerifier.verify(audit);
            assertTrue(r.ok(), "after SIGKILL " + (round + 1) + ": " + r.problem());
            assertTrue(r.records() > before, r.records() + " records");
            before = r.records();
        }
        // One more writer, closed cleanly: the chain runs on through every crash.
        try (AuditLog log = AuditLog.open(audit, 8192, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("test", Map.of("i", -1));
        }
        AuditVerifier.Result r = AuditVerifier.verify(audit);
        assertTrue(r.ok() && r.records() > before && r.files() > 3, r.problem() + ", " + r.records() + " records in " + r.files() + " files");
    }

    private static long records(Path audit) throws Exception {
        if (!Files.isDirectory(audit)) {
            return 0;
        }
        long n = 0;
        try (var files = Files.list(audit)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
                try (var lines = Files.lines(f)) {
                    n += lines.count();
                }
            }
        }
        return n;
    }
}
