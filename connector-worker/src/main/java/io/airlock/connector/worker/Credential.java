package io.airlock.connector.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Set;

/**
 * A bearer credential (an environment key or a work item's sessions token). Its {@code toString}
 * never shows it, so it cannot reach a log by accident; the audit log gets {@link #fingerprint()}.
 */
public final class Credential {
    private final String value;

    private Credential(String value) {
        this.value = value;
    }

    public static Credential of(String value) {
        if (value == null || value.isBlank() || value.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new IllegalArgumentException("a credential must be printable ASCII without spaces");
        }
        return new Credential(value);
    }

    /** Reads a key file, refusing one that others may read (the key opens the environment's queue). */
    public static Credential readKeyFile(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
            throw new IOException(file + " is readable by group or others (expected: mode 0600, e.g. chmod 600 " + file + ")");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8).strip();
        try {
            return of(text);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage() + " (expected: the environment key alone)");
        }
    }

    String bearer() {
        return "Bearer " + value;
    }

    /** The first 16 hex digits of the SHA-256: names the credential in the audit log without revealing it. */
    public String fingerprint() {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
            return "sha256:" + HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The sessions token inside a work item's secret (URL-safe base64 of JSON); null when it has none. */
    static Credential fromSecret(String secret, com.fasterxml.jackson.databind.ObjectMapper json) {
        if (secret == null || secret.isBlank()) {
            return null;
        }
        try {
            String token = json.readTree(Base64.getUrlDecoder().decode(secret.strip())).path("sessions_token").asText("");
            return token.isEmpty() ? null : of(token);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return "Credential[" + fingerprint() + "]";
    }
}
