package io.airlock.core.audit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The audit log's HMAC key: 32 random bytes in a 0600 file next to the log, made on first use.
 * Whoever rewrites the log without it cannot produce valid record MACs or a valid sealed head.
 */
final class AuditKey {
    static final String FILE = "audit.key";
    private final byte[] key;

    private AuditKey(byte[] key) {
        this.key = key;
    }

    static AuditKey loadOrCreate(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        if (Files.exists(file)) {
            return load(dir);
        }
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Path tmp = Files.createTempFile(dir, "audit-key", ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, key);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return new AuditKey(key);
    }

    static AuditKey load(Path dir) throws IOException {
        byte[] key = Files.readAllBytes(dir.resolve(FILE));
        if (key.length != 32) {
            throw new IOException(dir.resolve(FILE) + " holds " + key.length + " bytes (expected: 32)");
        }
        return new AuditKey(key);
    }

    /**
     * A key for another purpose, derived from this one (HMAC of the purpose's name): the sealed
     * head is MAC'd under such a key ({@link SealedHead#key}), so no record line, whose MAC is under the
     * log key itself, can ever pass as a head.
     */
    AuditKey derive(String purpose) {
        return new AuditKey(hmac(purpose.getBytes(StandardCharsets.UTF_8)));
    }

    /** Lower-case hex HMAC-SHA256 of {@code text}. */
    String mac(String text) {
        return HexFormat.of().formatHex(hmac(text.getBytes(StandardCharsets.UTF_8)));
    }

    private byte[] hmac(byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
