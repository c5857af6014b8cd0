package io.airlock.core.audit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * Arbitrary bytes where the audit files are: verify always answers (a result naming a problem,
 * or ok) and never throws or hangs; a start on such a log either continues it or refuses with an
 * IOException naming the problem. Starts from a genuine log, so the fuzzer mutates real records.
 */
class AuditVerifierFuzzTest {
    private static Path genuine;
    private static Path dir;

    @BeforeAll
    static void writeAGenuineLog() throws IOException {
        // On tmpfs where there is one: every run copies the log and the daemon's open fsyncs it.
        Path shm = Path.of("/dev/shm");
        Path root = Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "audit-fuzz")
                : Files.createTempDirectory("audit-fuzz");
        genuine = root.resolve("genuine");
        try (AuditLog log = AuditLog.open(genuine, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            for (int i = 0; i < 20; i++) {
                log.append("command", Map.of("command_id", "c-" + i, "argv", List.of("sh", "-c", "echo é " + i)));
            }
        }
        dir = root.resolve("fuzzed");
    }

    @FuzzTest(maxDuration = "60s")
    void verifyAnswersWhateverTheFilesHold(FuzzedDataProvider data) throws IOException {
        reset();
        List<Path> files;
        try (var s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("audit")).sorted().toList();
        }
        // Replace one file (a log file, the head, or the key) with the fuzzer's bytes.
        Path target = files.get(data.consumeInt(0, files.size() - 1));
        boolean append = data.consumeBoolean();
        byte[] bytes = data.consumeRemainingAsBytes();
        if (append) {
            Files.write(target, bytes, java.nio.file.StandardOpenOption.APPEND);
        } else {
            Files.write(target, bytes);
        }
        AuditVerifier.Result r = AuditVerifier.verify(dir);
        if (!r.ok() && (r.problem() == null || r.problem().isBlank())) {
            throw new AssertionError("a failed verify names no problem");
        }
        try (AuditLog log = AuditLog.open(dir, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("command", Map.of("command_id", "after"));
        } catch (IOException refused) {
            // a log the daemon will not continue: refusing with a reason is the right answer
        }
    }

    private static void reset() throws IOException {
        if (Files.exists(dir)) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
        try (var s = Files.list(genuine)) {
            for (Path p : s.toList()) {
                if (!p.getFileName().toString().equals("audit.lock")) {
                    Files.copy(p, dir.resolve(p.getFileName()));
                }
            }
        }
    }
}
