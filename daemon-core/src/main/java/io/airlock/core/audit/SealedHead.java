package io.airlock.core.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code audit.head}: the file, seq and hash of the newest record, replaced atomically after
 * every append, so a log cut short is caught although every remaining line still verifies.
 * Its MAC is under a key derived for heads alone: a record line copied over it never passes.
 */
record SealedHead(String file, long seq, String hash) {
    static final String FILE = "audit.head";
    private static final String PURPOSE = "airlock audit.head v2";

    /** The head's own key, derived from the log's. */
    static AuditKey key(AuditKey logKey) {
        return logKey.derive(PURPOSE);
    }

    /** @param headKey {@link #key} of the log's key */
    void write(Path dir, AuditKey headKey) throws IOException {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("file", file);
        fields.put("seq", seq);
        fields.put("hash", hash);
        String body = AuditLog.JSON.writeValueAsString(fields);
        String line = body.substring(0, body.length() - 1) + ",\"mac\":\"" + headKey.mac(body) + "\"}\n";
        Path tmp = dir.resolve(FILE + ".tmp");
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------")); // left by a crash
        }
        // A stream, not Files.write: that writes through an interruptible channel (see AuditLog.out).
        try (FileOutputStream out = new FileOutputStream(tmp.toFile())) {
            out.write(line.getBytes(StandardCharsets.UTF_8));
        }
        Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The head in {@code dir}; the message names what is wrong (missing, forged, unreadable). */
    static SealedHead read(Path dir, AuditKey headKey) throws IOException {
        String line;
        try {
            line = Files.readString(dir.resolve(FILE)).strip();
        } catch (NoSuchFileException e) {
            throw new IOException(FILE + " is missing: without it a log cut short cannot be told apart");
        }
        AuditRecord.requireMac(line, headKey, FILE);
        JsonNode h = AuditLog.JSON.readTree(line);
        if (!h.path("seq").canConvertToLong() || !h.path("hash").isTextual() || !h.path("file").isTextual()) {
            throw new IOException(FILE + " lacks file, seq or hash");
        }
        return new SealedHead(h.get("file").asText(), h.get("seq").asLong(), h.get("hash").asText());
    }
}
