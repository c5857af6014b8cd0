package io.airlock.daemon.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * Checks a log end to end: every record's MAC, the seq and prev chain within and across files,
 * no missing file, and that the log reaches its sealed head. Stops at the first bad record and
 * names it. A line torn by a crash passes only when an {@code audit.torn} record right after it
 * names its hash and length (the daemon writes one when it starts again).
 */
public final class AuditVerifier {
    /** @param problem null when the log verifies; else the first bad record and what is wrong with it */
    public record Result(long records, int files, String problem, List<String> notes) {
        public boolean ok() {
            return problem == null;
        }
    }

    /** A record that passed, with where it stands. */
    public record Located(String file, int line, JsonNode record) {}

    private AuditVerifier() {}

    public static Result verify(Path dir) throws IOException {
        return verify(dir, r -> { });
    }

    /** Verifies and hands every good record, in order, to {@code sink} (for queries). */
    public static Result verify(Path dir, Consumer<Located> sink) throws IOException {
        if (!Files.isRegularFile(dir.resolve(AuditKey.FILE))) {
            return new Result(0, 0, "no " + AuditKey.FILE + " in " + dir + " (expected the daemon's audit directory, readable by this user)",
                    List.of());
        }
        AuditKey key = AuditKey.load(dir);
        List<AuditFiles.Numbered> files = AuditFiles.list(dir);
        List<String> notes = new ArrayList<>();
        if (files.isEmpty()) {
            return new Result(0, 0, "no audit-NNNNNN.log files in " + dir, notes);
        }
        String prevHash = AuditLog.GENESIS;
        long expected = 1;
        long records = 0;
        int expectedIndex = 1;
        for (AuditFiles.Numbered f : files) {
            String name = f.path().getFileName().toString();
            if (f.index() != expectedIndex) {
                return new Result(records, files.size(), AuditLog.fileName(expectedIndex) + " is missing (the next file is " + name
                        + "): a rotated file was removed", notes);
            }
            expectedIndex++;
            byte[] bytes = Files.readAllBytes(f.path());
            String text = new String(bytes, StandardCharsets.UTF_8);
            String[] lines = text.split("\n", -1);
            String unsealed = null;
            int unsealedLine = 0;
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i];
                boolean lastSegment = i == lines.length - 1;
                if (lastSegment) {
                    if (!line.isEmpty()) {
                        if (f == files.getLast()) {
                            notes.add(name + " line " + (i + 1) + ": a torn record (" + line.getBytes(StandardCharsets.UTF_8).length
                                    + " bytes, a crash mid-write); the daemon seals it when it starts");
                        } else {
                            return new Result(records, files.size(), name + " line " + (i + 1) + ": a torn record in a rotated file", notes);
                        }
                    }
                    break;
                }
                String where = name + " line " + (i + 1);
                AuditRecord r;
                try {
                    r = AuditRecord.parse(line, key);
                } catch (IOException e) {
                    if (unsealed != null) {
                        return new Result(records, files.size(), name + " line " + unsealedLine + ": " + unsealed, notes);
                    }
                    unsealed = e.getMessage();
                    unsealedLine = i + 1;
                    // Acceptable only as a crash's torn line that the next record seals.
                    String next = i + 1 < lines.length ? lines[i + 1] : "";
                    if (!sealsTorn(next, line, key)) {
                        return new Result(records, files.size(), where + ": " + e.getMessage(), notes);
                    }
                    notes.add(where + ": a torn record from a crash, sealed by the next record");
                    continue;
                }
                unsealed = null;
                String at = where + " (seq " + r.seq() + ")";
                if (r.seq() != expected) {
                    return new Result(records, files.size(), at + ": seq " + r.seq() + " where " + expected
                            + " was expected: records were removed, added or reordered", notes);
                }
                if (!r.prev().equals(prevHash)) {
                    return new Result(records, files.size(), at + ": its prev does not match the hash of the record before it: "
                            + "records were removed, reordered or changed", notes);
                }
                prevHash = AuditLog.sha256(line);
                expected++;
                records++;
                sink.accept(new Located(name, i + 1, r.fields()));
            }
        }
        String headProblem = checkHead(dir, key, expected - 1, prevHash, files.getLast());
        return new Result(records, files.size(), headProblem, notes);
    }

    private static boolean sealsTorn(String next, String torn, AuditKey key) {
        try {
            AuditRecord r = AuditRecord.parse(next, key);
            byte[] bytes = torn.getBytes(StandardCharsets.UTF_8);
            return r.type().equals("audit.torn") && r.fields().path("torn_bytes").asLong() == bytes.length
                    && r.fields().path("torn_sha256").asText().equals(HexFormat.of().formatHex(AuditLog.digest(bytes)));
        } catch (IOException e) {
            return false;
        }
    }

    /** The log must reach its sealed head; a last record past it is fine (a crash between the two writes). */
    private static String checkHead(Path dir, AuditKey key, long lastSeq, String lastHash, AuditFiles.Numbered lastFile) throws IOException {
        Path headFile = dir.resolve(AuditLog.HEAD);
        if (!Files.exists(headFile)) {
            return AuditLog.HEAD + " is missing: without it a log cut short cannot be told apart";
        }
        String head = Files.readString(headFile).strip();
        AuditRecord.requireMac(head, key, AuditLog.HEAD);
        JsonNode h = AuditLog.JSON.readTree(head);
        long headSeq = h.path("seq").asLong();
        if (headSeq > lastSeq) {
            return "the log ends at seq " + lastSeq + " (" + lastFile.path().getFileName() + ") but its sealed head is at seq " + headSeq
                    + " in " + h.path("file").asText() + ": records were cut from the end";
        }
        if (headSeq == lastSeq && !h.path("hash").asText().equals(lastHash)) {
            return "the last record (seq " + lastSeq + ") is not the one the sealed head names: it was replaced";
        }
        return null;
    }
}
