package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditLog;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `airlock audit tail -f` as its own process follows records as they are appended, across rotations. */
class AuditTailIT {
    @TempDir
    Path dir;

    @Test
    void followsAppendedRecordsInOrderAcrossRotations() throws Exception {
        Path audit = dir.resolve("audit");
        try (AuditLog log = AuditLog.open(audit, 4096, AuditLog.Durability.EACH, Duration.ofMillis(100))) {
            log.append("test", Map.of("i", -1));
            String javaBin = ProcessHandle.current().info().command().orElse("java");
            Process tail = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), Airlock.class.getName(),
                    "audit", "tail", "-f", "-n", "1", audit.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            BlockingQueue<String> lines = new LinkedBlockingQueue<>(10_000);
            Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(tail.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.offer(line);
                    }
                } catch (java.io.IOException e) {
                    // the process was stopped
                }
            });
            try {
                String first = lines.poll(30, TimeUnit.SECONDS);
                assertTrue(first != null && first.contains("\"i\":-1"), "the newest record first: " + first);
                for (int i = 0; i < 60; i++) {
                    log.append("test", Map.of("i", i));
                }
                List<Integer> seen = new ArrayList<>();
                while (seen.size() < 60) {
                    String line = lines.poll(20, TimeUnit.SECONDS);
                    assertTrue(line != null, "tail -f stopped after " + seen);
                    seen.add(Integer.parseInt(line.replaceAll(".*\"i\":(-?\\d+).*", "$1")));
                }
                assertEquals(java.util.stream.IntStream.range(0, 60).boxed().toList(), seen);
                try (var files = Files.list(audit)) {
                    assertTrue(files.filter(p -> p.getFileName().toString().endsWith(".log")).count() >= 3, "the records spanned rotations");
                }
            } finally {
                tail.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
