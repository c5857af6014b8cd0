package io.airlock.core.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * Checks a log end to end: every record's MAC, the seq and prev chain within and across files,
 * no missing file, and that the log ends at its sealed head (or one record past it: a crash
 * between a record and its seal), with the head's hash at the head's seq. Given the anchor the
 * control plane keeps, also that the log still reaches it. Stops at the first bad record and
 * names it. A line torn by a crash passes only when it can be one ({@link TornTail}) and an
 * {@code audit.torn} record right after it names its hash and length.
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
        return verify(dir, null, sink);
    }

    /** As above, and the log must reach {@code anchor} (null: no anchor) with the anchored hash. */
    public static Result verify(Path dir, AuditAnchor anchor, Consumer<Located> sink) throws IOException {
        if (!Files.isRegularFile(dir.resolve(AuditKey.FILE))) {
            return new Result(0, 0, "no " + AuditKey.FILE + " in " + dir + " (expected the daemon's audit directory, readable by this user)",
                    List.of());
        }
        AuditKey key;
        try {
            key = AuditKey.load(dir);
        } catch (IOException e) {
            return new Result(0, 0, e.getMessage() + ": without the log's own key nothing can be verified", List.of());
        }
        List<AuditFiles.Numbered> files = AuditFiles.list(dir);
        if (files.isEmpty()) {
            return new Result(0, 0, "no audit-NNNNNN.log files in " + dir, List.of());
        }
        return new Walk(key, anchor, files.size(), sink).run(dir, files);
    }

    /** One pass over the files, carrying the chain's state. */
    private static final class Walk {
        private final AuditKey key;
        private final AuditAnchor anchor;
        private final int fileCount;
        private final Consumer<Located> sink;
        private final List<String> notes = new ArrayList<>();
        private SealedHead head;
        private String headProblem;
        private String prevHash = AuditLog.GENESIS;
        private long expected = 1;
        private long records;

        Walk(AuditKey key, AuditAnchor anchor, int fileCount, Consumer<Located> sink) {
            this.key = key;
            this.anchor = anchor;
            this.fileCount = fileCount;
            this.sink = sink;
        }

        Result run(Path dir, List<AuditFiles.Numbered> files) throws IOException {
            try {
                head = SealedHead.read(dir, SealedHead.key(key));
            } catch (IOException e) {
                headProblem = e.getMessage(); // records first: a bad record is the more precise finding
            }
            int expectedIndex = 1;
            for (AuditFiles.Numbered f : files) {
                String name = f.path().getFileName().toString();
                if (f.index() != expectedIndex) {
                    return fail(AuditLog.fileName(expectedIndex) + " is missing (the next file is " + name + "): a rotated file was removed");
                }
                expectedIndex++;
                String problem = file(name, Files.readAllBytes(f.path()), f == files.getLast());
                if (problem != null) {
                    return fail(problem);
                }
            }
            return fail(end());
        }

        private Result fail(String problem) {
            return new Result(records, fileCount, problem, notes);
        }

        /** The first problem in one file, or null. */
        private String file(String name, byte[] bytes, boolean newest) {
            List<byte[]> lines = lines(bytes);
            for (int i = 0; i < lines.size(); i++) {
                byte[] raw = lines.get(i);
                String line = new String(raw, StandardCharsets.UTF_8);
                String where = name + " line " + (i + 1);
                if (i == lines.size() - 1) {
                    return raw.length == 0 ? null : lastSegment(name, where, raw, newest);
                }
                AuditRecord r;
                try {
                    r = AuditRecord.parse(line, key);
                } catch (IOException | RuntimeException e) {
                    // Acceptable only as a crash's torn line that the next record seals, and that can be one.
                    if (!sealsTorn(new String(lines.get(i + 1), StandardCharsets.UTF_8), raw)) {
                        return where + ": " + e.getMessage();
                    }
                    String torn = TornTail.problem(raw, expected);
                    if (torn != null) {
                        return where + ": sealed as a crash's torn write, but it is " + torn;
                    }
                    notes.add(where + ": a torn record from a crash, sealed by the next record");
                    continue;
                }
                String problem = chain(name, i + 1, r);
                if (problem != null) {
                    return problem;
                }
            }
            return null;
        }

        /** The bytes after a file's last newline: a torn write (reported), a record missing only its newline, or a forgery. */
        private String lastSegment(String name, String where, byte[] bytes, boolean newest) {
            if (!newest) {
                return where + ": a torn record in a rotated file";
            }
            try {
                AuditRecord r = AuditRecord.parse(new String(bytes, StandardCharsets.UTF_8), key);
                notes.add(where + ": record seq " + r.seq() + " lacks its newline (a crash mid-write); the daemon completes it when it starts");
                return chain(name, 0, r);
            } catch (IOException | RuntimeException e) {
                // not a record of this log
            }
            String torn = TornTail.problem(bytes, expected);
            if (torn != null) {
                return where + ": " + torn;
            }
            notes.add(where + ": a torn record (" + bytes.length + " bytes, a crash mid-write); the daemon seals it when it starts");
            return null;
        }

        /** Links one authentic record into the chain and checks it against the head and the anchor. */
        private String chain(String name, int line, AuditRecord r) {
            String at = name + (line > 0 ? " line " + line : " end") + " (seq " + r.seq() + ")";
            if (r.seq() != expected) {
                return at + ": seq " + r.seq() + " where " + expected + " was expected: records were removed, added or reordered";
            }
            if (!r.prev().equals(prevHash)) {
                return at + ": its prev does not match the hash of the record before it: records were removed, reordered or changed";
            }
            prevHash = AuditLog.sha256(r.line());
            if (head != null && head.seq() == r.seq() && (!head.hash().equals(prevHash) || !head.file().equals(name))) {
                return at + ": not the record the sealed head names (" + head.file() + ", seq " + head.seq() + "): it was replaced";
            }
            if (anchor != null && anchor.seq() == r.seq() && !anchor.hash().equals(prevHash)) {
                return at + ": not the record the control plane's anchor " + anchor + " names: the log was rewritten from here on";
            }
            expected++;
            records++;
            sink.accept(new Located(name, line, r.fields()));
            return null;
        }

        /** After the last record: the head and the anchor must be where the log ends. */
        private String end() {
            long last = expected - 1;
            if (headProblem != null) {
                return headProblem;
            }
            if (head.seq() > last) {
                return "the log ends at seq " + last + " but its sealed head is at seq " + head.seq() + " in " + head.file()
                        + ": records were cut from the end";
            }
            if (last > head.seq() + 1) {
                return "the log runs " + (last - head.seq()) + " records past its sealed head (seq " + head.seq() + "), where at most one may "
                        + "(a crash between a record and its seal): an older head was put back, or records were added without the daemon";
            }
            if (anchor != null && last < anchor.seq()) {
                return "the log ends at seq " + last + " but the control plane's anchor is at seq " + anchor.seq()
                        + ": records were cut from the end and an older sealed head put back (a rollback)";
            }
            return null;
        }

        /** The segments between newlines, as bytes: a torn line may end inside a UTF-8 sequence, and its hash is of its bytes. */
        private static List<byte[]> lines(byte[] bytes) {
            List<byte[]> lines = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] == '\n') {
                    lines.add(Arrays.copyOfRange(bytes, start, i));
                    start = i + 1;
                }
            }
            lines.add(Arrays.copyOfRange(bytes, start, bytes.length));
            return lines;
        }

        private boolean sealsTorn(String next, byte[] bytes) {
            try {
                AuditRecord r = AuditRecord.parse(next, key);
                return r.type().equals("audit.torn") && r.fields().path("torn_bytes").asLong() == bytes.length
                        && r.fields().path("torn_sha256").asText().equals(HexFormat.of().formatHex(AuditLog.digest(bytes)));
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
    }
}
