package io.airlock.core.work;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The idempotency ledger's memory across restarts, for work with effects: a line when one
 * starts (fsync'd before it runs) and one when it ends (with its result, up to
 * {@link #MAX_RESULT_BYTES}). After a restart, a re-sent id gets the first result. One the agent
 * stopped in the middle of gets an {@code OUTCOME_UNKNOWN} error when running it again could
 * repeat its effects (exec, file and archive writes, snapshots); one that converges by its own key
 * (provision and destroy of a sandbox id, pause, resume, an allowlist, deleting a snapshot) is
 * forgotten, so the repeat finishes it. Read-only commands are not journalled (running one again
 * changes nothing). Lines older than the
 * retention are dropped when the file is rewritten: at start, and whenever it has doubled since
 * the last rewrite (at least {@link #COMPACT_BYTES}). The file is {@code state_dir/commands.journal} (0600).
 *
 * <p>Format, one line each: {@code S <epoch ms> <id> <ACTION>} and {@code R <epoch ms> <id> <result>},
 * the id in URL-safe base64, the result the {@link Outcome} as base64 JSON, or {@code -CODE} when
 * it was too large to keep. ({@code F} lines of earlier builds held airlock.v1 bytes; they are
 * read as results that were not kept.) A torn last line (a crash mid-write) is ignored: its command either
 * never started (S) or ends as unknown (F).
 */
public final class WorkJournal implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkJournal.class);
    static final int MAX_RESULT_BYTES = 8 * 1024;
    static final long COMPACT_BYTES = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> WITH_EFFECTS = Set.of("provision", "destroy", "exec", "write_file", "write_archive", "pause",
            "resume", "update_egress", "snapshot", "delete_snapshot");
    /** Those whose second run could repeat an effect; the others converge on the state their key names. */
    private static final Set<String> NOT_REPEATABLE = Set.of("EXEC", "WRITE_FILE", "WRITE_ARCHIVE", "SNAPSHOT");

    private final Path file;
    private final Duration retention;
    private final Map<String, Outcome> recovered;
    private FileOutputStream out;
    private long size;
    /** The size at which the next rewrite happens: twice what the last one kept, so recent lines never cause a rewrite per line. */
    private long compactAt = COMPACT_BYTES;

    private WorkJournal(Path file, Duration retention, Map<String, Outcome> recovered) {
        this.file = file;
        this.retention = retention;
        this.recovered = recovered;
    }

    /** Opens (creating) the journal, keeping what is younger than {@code retention}. */
    public static WorkJournal open(Path file, Duration retention) throws IOException {
        Map<String, Outcome> recovered = new LinkedHashMap<>();
        if (Files.exists(file)) {
            read(file, Instant.now().minus(retention).toEpochMilli(), recovered);
        }
        WorkJournal journal = new WorkJournal(file, retention, recovered);
        journal.compact();
        return journal;
    }

    /** Whether {@code work} is journalled: it has effects that must not happen twice. */
    public static boolean hasEffects(Work work) {
        return WITH_EFFECTS.contains(work.action());
    }

    /** What work of the previous run ended with (or OUTCOME_UNKNOWN), by id; for the ledger to answer repeats. */
    public Map<String, Outcome> recovered() {
        return Map.copyOf(recovered);
    }

    /** Records that {@code item} starts, on disk before it runs; throws when it cannot (then it must not run). */
    public synchronized void started(WorkItem item) throws IOException {
        append("S " + System.currentTimeMillis() + " " + encodeId(item.id()) + " " + item.work().action().toUpperCase(Locale.ROOT), true);
    }

    /** Records its result; a crash before this reaches the disk leaves the work unknown, never run twice. */
    public synchronized void finished(WorkItem item, Outcome result) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(result);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("an outcome that Jackson cannot write: " + result, e);
        }
        String kept = bytes.length <= MAX_RESULT_BYTES ? Base64.getEncoder().encodeToString(bytes)
                : "-" + (result instanceof Outcome.Failed f ? f.error().name() : "OK");
        try {
            append("R " + System.currentTimeMillis() + " " + encodeId(item.id()) + " " + kept, false);
            if (size > compactAt) {
                compact();
            }
        } catch (IOException e) {
            log.error("cannot journal the result of work {} (a repeat after a restart will get OUTCOME_UNKNOWN): {}",
                    item.id(), e.toString());
        }
    }

    private void append(String line, boolean sync) throws IOException {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
        out.write(bytes);
        size += bytes.length;
        if (sync) {
            out.getFD().sync();
        }
    }

    /** Rewrites the file with the lines younger than the retention (they are in time order). */
    private synchronized void compact() throws IOException {
        long cutoff = Instant.now().minus(retention).toEpochMilli();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        long kept = 0;
        try (FileOutputStream w = new FileOutputStream(tmp.toFile())) {
            if (Files.exists(file)) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.US_ASCII))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        String[] parts = line.split(" ");
                        if (parts.length >= 3 && time(parts[1]) >= cutoff) {
                            byte[] bytes = (line + "\n").getBytes(StandardCharsets.US_ASCII);
                            w.write(bytes);
                            kept += bytes.length;
                        }
                    }
                }
            }
            w.getFD().sync();
        }
        if (out != null) {
            out.close();
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        out = new FileOutputStream(file.toFile(), true);
        size = kept;
        compactAt = Math.max(COMPACT_BYTES, 2 * kept);
    }

    private static void read(Path file, long cutoff, Map<String, Outcome> into) throws IOException {
        Map<String, Long> startedAt = new LinkedHashMap<>(); // only those that must not run again
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file), StandardCharsets.US_ASCII))) {
            String line;
            while ((line = r.readLine()) != null) {
                String[] parts = line.split(" ");
                long at = parts.length >= 3 ? time(parts[1]) : -1;
                if (at < cutoff) {
                    continue; // too old, or not a whole line
                }
                String id = decodeId(parts[2]);
                if (id == null) {
                    continue;
                }
                if (parts[0].equals("S") && parts.length == 4) {
                    if (NOT_REPEATABLE.contains(parts[3])) {
                        startedAt.put(id, at);
                    }
                } else if (parts[0].equals("R") && parts.length == 4) {
                    Outcome result = result(id, parts[3]);
                    if (result != null) {
                        startedAt.remove(id);
                        into.put(id, result);
                    }
                }
            }
        }
        startedAt.forEach((id, at) -> into.put(id, unknown(id, at)));
    }

    private static Outcome result(String id, String text) {
        try {
            if (text.startsWith("-")) {
                return new Outcome.Failed(WorkError.OUTCOME_UNKNOWN, "command " + id + " ended " + text.substring(1) + " before the agent "
                        + "restarted; its result was too large to keep: read what it did (files, sandbox state) instead of repeating it");
            }
            return JSON.readValue(Base64.getDecoder().decode(text), Outcome.class);
        } catch (IllegalArgumentException | IOException e) {
            return null;
        }
    }

    private static Outcome unknown(String id, long startedAt) {
        return new Outcome.Failed(WorkError.OUTCOME_UNKNOWN, "command " + id + " was running when the agent restarted (it started at "
                + Instant.ofEpochMilli(startedAt) + "): it may have had effects, and it is not run again; check them, then send it "
                + "anew under a new command id");
    }

    private static long time(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String encodeId(String id) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(id.getBytes(StandardCharsets.UTF_8));
    }

    private static String decodeId(String text) {
        try {
            return new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (out != null) {
                out.close();
            }
        } catch (IOException e) {
            log.debug("closing {}: {}", file, e.toString());
        }
    }
}
