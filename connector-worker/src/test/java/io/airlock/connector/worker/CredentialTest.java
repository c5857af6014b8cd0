package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialTest {
    @TempDir
    Path dir;

    @Test
    void itNeverPrintsItselfOnlyItsFingerprint() {
        Credential c = Credential.of("envkey_secret_value");
        assertFalse(c.toString().contains("secret"));
        assertTrue(c.toString().contains(c.fingerprint()) && c.fingerprint().startsWith("sha256:"));
        assertEquals("Bearer envkey_secret_value", c.bearer());
    }

    @Test
    void theSessionsTokenComesFromTheItemsSecret() {
        ObjectMapper json = new ObjectMapper();
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"sessions_token\":\"tok_1\"}".getBytes(StandardCharsets.UTF_8));
        assertEquals("Bearer tok_1", Credential.fromSecret(secret, json).bearer());
        assertNull(Credential.fromSecret("not base64 json!", json));
        assertNull(Credential.fromSecret(null, json));
    }

    @Test
    void aKeyFileOthersMayReadIsRefusedNamingTheFix() throws IOException {
        Path key = dir.resolve("env.key");
        Files.writeString(key, "envkey_1\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        IOException e = assertThrows(IOException.class, () -> Credential.readKeyFile(key));
        assertTrue(e.getMessage().contains("chmod 600"), e.getMessage());
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        assertEquals("Bearer envkey_1", Credential.readKeyFile(key).bearer());
        Files.writeString(key, "two words");
        assertTrue(assertThrows(IOException.class, () -> Credential.readKeyFile(key)).getMessage().contains("the environment key alone"));
    }
}
