package io.airlock.core.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Appends audit records. Each line is one JSON object: {@code seq}, {@code ts}, {@code type},
 * {@code prev} (SHA-256 of the previous line), the record's fields, and last {@code mac}, an
 * HMAC-SHA256 of everything before it under {@link AuditKey}. After every append the
 * {@link SealedHead} is replaced, so a log cut short is caught even though every remaining line
 * still verifies; {@link #durableHead()} is what the control plane keeps as an anchor. Files rotate by size
 * ({@code audit-000001.log}, ...); the chain runs on across them. A line torn by a crash is
 * kept, and the next start appends an {@code audit.torn} record naming its hash, so nothing is
 * silently dropped; a tail that cannot be a torn write ({@link TornTail}) stops the start.
 */
public final class AuditLog implements AuditTrail, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AuditLog.class);
    static final ObjectMapper JSON = new ObjectMapper();
    static final String GENESIS = "0".repeat(64);

    /** When appended bytes reach the disk. */
    public enum Durability {
        /** fsync after every record: nothing acknowledged is lost. */
        EACH,
        /** fsync at most every {@code groupInterval}: a crash loses at most that much. */
        GROUP
    }

    private final Path dir;
    private final AuditKey key;
    private final AuditKey headKey;
    private final long maxFileBytes;
    private final Durability durability;
    private final ScheduledExecutorService flusher;
    /**
     * A stream, not a FileChannel: a FileChannel is closed for good when a thread writing to it is
     * interrupted (ClosedByInterruptException), and the daemon's threads are interrupted when it
     * stops, so one interrupted writer would silence the log for everyone after it.
     */
    private FileOutputStream out;
    private FileChannel lockFile;
    private int fileIndex;
    private long size;
    private long seq;
    private String lastHash;
    private boolean dirty;
    private boolean closed;
    /**
     * The newest record known to be on disk (fsync'd): what may be anchored outside the host.
     * Volatile, so a Ping reads it without waiting behind an append's fsync.
     */
    private volatile AuditAnchor durable;
    private volatile DoubleConsumer appendSeconds = s -> { };

    private AuditLog(Path dir, AuditKey key, long maxFileBytes, Durability durability, Duration groupInterval) {
        this.dir = dir;
        this.key = key;
        this.headKey = SealedHead.key(key);
        this.maxFileBytes = maxFileBytes;
        this.durability = durability;
        this.flusher = durability == Durability.GROUP ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "audit-fsync");
            t.setDaemon(true);
            return t;
        }) : null;
        if (flusher != null) {
            flusher.scheduleWithFixedDelay(this::flushQuietly, groupInterval.toMillis(), groupInterval.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Opens (creating when missing, 0700 directory, 0600 files) the log in {@code dir} and continues its chain. */
    public static AuditLog open(Path dir, long maxFileBytes, Durability durability, Duration groupInterval) throws IOException {
        return open(dir, maxFileBytes, durability, groupInterval, "daemon started");
    }

    /**
     * As above; {@code opener} goes into the {@code audit.started} record. One writer at a time:
     * a second process (or a second open in this one) is refused while {@code audit.lock} is held,
     * because two writers would fork the chain.
     */
    public static AuditLog open(Path dir, long maxFileBytes, Durability durability, Duration groupInterval, String opener)
            throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        FileChannel lockFile = lock(dir);
        try {
            AuditLog audit = new AuditLog(dir, AuditKey.loadOrCreate(dir), maxFileBytes, durability, groupInterval);
            audit.lockFile = lockFile;
            audit.resume(opener);
            return audit;
        } catch (IOException | RuntimeException e) {
            lockFile.close();
            throw e;
        }
    }

    private static FileChannel lock(Path dir) throws IOException {
        Path file = dir.resolve("audit.lock");
        if (!Files.exists(file)) {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (FileAlreadyExistsException e) {
                // made by a concurrent opener; the lock below decides
            }
        }
        FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
        try {
            if (ch.tryLock() != null) {
                return ch;
            }
        } catch (OverlappingFileLockException e) {
            // held by this process already
        }
        ch.close();
        throw new IOException("the audit log in " + dir + " is in use by another writer (a running daemon?): "
                + "stop it first; two writers would fork the chain");
    }

    static String fileName(int index) {
        return String.format("audit-%06d.log", index);
    }

    /** Finds the last file and its last complete record; seals a torn tail with an audit.torn record. */
    private synchronized void resume(String opener) throws IOException {
        List<AuditFiles.Numbered> files = AuditFiles.list(dir);
        if (files.isEmpty()) {
            fileIndex = 1;
            openFile();
            seq = 0;
            lastHash = GENESIS;
            append("audit.started", Map.of("reason", "new log"));
            return;
        }
        AuditFiles.Numbered last = files.getLast();
        fileIndex = last.index();
        byte[] bytes = Files.readAllBytes(last.path());
        int lastNewline = bytes.length - 1;
        while (lastNewline >= 0 && bytes[lastNewline] != '\n') {
            lastNewline--;
        }
        byte[] torn = Arrays.copyOfRange(bytes, lastNewline + 1, bytes.length);
        // The chain's head is the last complete line: in this file, or, when a crash came right after a
        // rotation (an empty file, or one holding only a torn first record), in the file before it.
        String lastLine = lastCompleteLine(bytes, lastNewline);
        if (lastLine == null && files.size() > 1) {
            byte[] previous = Files.readAllBytes(files.get(files.size() - 2).path());
            lastLine = lastCompleteLine(previous, previous.length - 1);
            if (lastLine == null || previous[previous.length - 1] != '\n') {
                throw new IOException(files.get(files.size() - 2).path() + " does not end in a complete record, yet a newer file exists: "
                        + "'airlock audit verify' says what is wrong; move the log aside to start a new one");
            }
        }
        if (lastLine == null) {
            seq = 0; // a log that crashed before its first record was whole
            lastHash = GENESIS;
        } else {
            AuditRecord record = AuditRecord.parse(lastLine, key);
            seq = record.seq();
            lastHash = sha256(lastLine);
        }
        openFile();
        if (torn.length > 0) {
            sealTail(last.path(), torn);
        }
        append("audit.started", Map.of("reason", opener));
    }

    /**
     * The bytes after the log's last newline: a record whose newline alone was lost continues the
     * chain; a crash's torn write is kept on its own line and named by an {@code audit.torn}
     * record; anything else is refused (sealing it would make an added record look like a crash).
     */
    private void sealTail(Path file, byte[] tail) throws IOException {
        String text = new String(tail, StandardCharsets.UTF_8);
        AuditRecord whole = null;
        try {
            whole = AuditRecord.parse(text, key);
        } catch (IOException | RuntimeException e) {
            // not a record of this log: torn, or someone else's
        }
        if (whole != null && whole.seq() == seq + 1 && whole.prev().equals(lastHash)) {
            write("\n".getBytes(StandardCharsets.UTF_8));
            seq = whole.seq();
            lastHash = sha256(text);
            log.warn("audit log {} ends in record seq {} without its newline (a crash mid-write); completing it", file, seq);
            return;
        }
        String problem = TornTail.problem(tail, seq + 1);
        if (problem != null) {
            throw new IOException(file + " ends in " + problem + ". The daemon does not seal it as a crash's torn write: "
                    + "'airlock audit verify' says the same; keep the log as evidence and move it aside to start a new one");
        }
        write("\n".getBytes(StandardCharsets.UTF_8));
        log.warn("audit log {} ends in a torn record ({} bytes, a crash mid-write); sealing it", file, tail.length);
        // In the same file as the torn line, whatever its size: the verifier looks for the seal right after it.
        append("audit.torn", Map.of("torn_bytes", tail.length, "torn_sha256", HexFormat.of().formatHex(digest(tail))), false);
    }

    /** The complete line ending at {@code newline} (the index of its '\n'), or null when there is none. */
    private static String lastCompleteLine(byte[] bytes, int newline) {
        if (newline < 0) {
            return null;
        }
        int start = newline - 1;
        while (start >= 0 && bytes[start] != '\n') {
            start--;
        }
        return new String(bytes, start + 1, newline - start - 1, StandardCharsets.UTF_8);
    }

    private void openFile() throws IOException {
        Path file = dir.resolve(fileName(fileIndex));
        if (!Files.exists(file)) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        out = new FileOutputStream(file.toFile(), true);
        size = Files.size(file);
    }

    /**
     * Appends one record and seals the head. Throws when the record cannot be written: callers
     * that must not act unaudited refuse to act.
     */
    @Override
    public synchronized void append(String type, Map<String, ?> fields) {
        append(type, fields, true);
    }

    private void append(String type, Map<String, ?> fields, boolean mayRotate) {
        if (closed) {
            throw new AuditException("the audit log in " + dir + " is closed (the daemon is stopping)", null);
        }
        long started = System.nanoTime();
        try {
            if (mayRotate && size >= maxFileBytes) {
                rotate();
            }
            ObjectNode node = JSON.createObjectNode();
            node.put("seq", seq + 1);
            node.put("ts", Instant.now().toString());
            node.put("type", type);
            node.put("prev", lastHash);
            fields.forEach((k, v) -> node.set(k, JSON.valueToTree(v)));
            String body = JSON.writeValueAsString(node);
            String line = body.substring(0, body.length() - 1) + ",\"mac\":\"" + key.mac(body) + "\"}";
            write((line + "\n").getBytes(StandardCharsets.UTF_8));
            seq++;
            lastHash = sha256(line);
            dirty = true;
            if (durability == Durability.EACH) {
                force();
            }
            writeHead();
            appendSeconds.accept((System.nanoTime() - started) / 1e9);
        } catch (IOException e) {
            throw new AuditException("cannot append to the audit log in " + dir + ": " + e.getMessage(), e);
        }
    }

    private void force() throws IOException {
        out.getFD().sync();
        dirty = false;
        durable = new AuditAnchor(seq, lastHash);
    }

    private void rotate() throws IOException {
        force();
        out.close();
        fileIndex++;
        openFile();
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        size += bytes.length;
    }

    /** The sealed head: where the chain ends now. Replaced atomically; the verifier requires the log to reach it. */
    private void writeHead() throws IOException {
        new SealedHead(fileName(fileIndex), seq, lastHash).write(dir, headKey);
    }

    /**
     * The newest record known to be on disk, for the control plane to keep outside this host;
     * empty before the first fsync. Under {@code group} durability it trails the newest record by
     * at most the group interval, so a crash never leaves the log short of an anchor it reported.
     */
    public Optional<AuditAnchor> durableHead() {
        return Optional.ofNullable(durable);
    }

    private synchronized void flushQuietly() {
        if (!dirty || out == null || closed) {
            return;
        }
        try {
            force();
        } catch (IOException e) {
            log.error("audit log fsync failed: {}", e.toString());
        }
    }

    /** The key's MAC of {@code value}, for fields that must be comparable but not readable (e.g. env values). */
    @Override
    public String hashed(String value) {
        return "hmac-sha256:" + key.mac(value).substring(0, 32);
    }

    public Path directory() {
        return dir;
    }

    /** Told how long each append took, in seconds (metrics). */
    public void onAppend(DoubleConsumer appendSeconds) {
        this.appendSeconds = appendSeconds;
    }

    @Override
    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (flusher != null) {
            flusher.shutdownNow();
        }
        try {
            if (out != null) {
                out.getFD().sync();
                out.close();
            }
        } catch (IOException e) {
            log.error("closing the audit log: {}", e.toString());
        }
        try {
            if (lockFile != null) {
                lockFile.close();
            }
        } catch (IOException e) {
            log.debug("releasing audit.lock: {}", e.toString());
        }
    }

    static String sha256(String line) {
        return HexFormat.of().formatHex(digest(line.getBytes(StandardCharsets.UTF_8)));
    }

    static byte[] digest(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
