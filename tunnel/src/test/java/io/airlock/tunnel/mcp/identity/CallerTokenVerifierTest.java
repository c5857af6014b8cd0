package io.airlock.tunnel.mcp.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.tunnel.mcp.McpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SignatureException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A caller token signed by {@link CallerTokens} verifies with its JWK Set, and nothing else does. */
class CallerTokenVerifierTest {
    @TempDir
    Path dir;

    private final McpRequest.Caller bob = new McpRequest.Caller("bob@example.test", "billing-agent", "run-42");

    @Test
    void aTokenVerifiesWithThePublishedKeyAndSaysWhoCalls() throws Exception {
        CallerTokens tokens = CallerTokens.loadOrCreate(dir, "agent-1", Duration.ofMinutes(5));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(CallerTokens.KEY_FILE))));
        CallerTokenVerifier.Caller caller = CallerTokenVerifier.fromJwks(Files.readString(dir.resolve(CallerTokens.JWKS_FILE)),
                Clock.systemUTC()).verify(tokens.sign("inventory", bob), "inventory");
        assertEquals("airlock:agent-1", caller.issuer());
        assertEquals("bob@example.test", caller.user());
        assertEquals("billing-agent", caller.agent());
        assertEquals("run-42", caller.session());
    }

    @Test
    void aTamperedForeignMisaddressedOrExpiredTokenIsRefusedSayingWhy() throws Exception {
        CallerTokens tokens = CallerTokens.loadOrCreate(dir, "agent-1", Duration.ofMinutes(5));
        CallerTokenVerifier verifier = CallerTokenVerifier.fromJwks(tokens.jwks(), Clock.systemUTC());
        String token = tokens.sign("inventory", bob);
        String[] parts = token.split("\\.");

        String otherClaims = Base64.getUrlEncoder().withoutPadding().encodeToString(new String(Base64.getUrlDecoder().decode(parts[1]),
                StandardCharsets.UTF_8).replace("bob@example.test", "eve@example.test").getBytes(StandardCharsets.UTF_8));
        assertMessage("signature does not verify", () -> verifier.verify(parts[0] + "." + otherClaims + "." + parts[2], "inventory"));
        assertMessage("is for 'inventory', not 'billing'", () -> verifier.verify(token, "billing"));
        assertMessage("three dot-separated parts", () -> verifier.verify("abc", "inventory"));
        String none = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));
        assertMessage("algorithm 'none' refused", () -> verifier.verify(none + "." + parts[1] + ".", "inventory"));

        CallerTokens other = CallerTokens.loadOrCreate(dir.resolve("other"), "agent-2", Duration.ofMinutes(5));
        assertMessage("is not in the JWK Set", () -> verifier.verify(other.sign("inventory", bob), "inventory"));

        Clock later = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(5).plus(CallerTokenVerifier.LEEWAY).plusSeconds(2));
        assertMessage("expired", () -> CallerTokenVerifier.fromJwks(tokens.jwks(), later).verify(token, "inventory"));
        assertEquals("run-42", CallerTokenVerifier.fromJwks(tokens.jwks(), Clock.fixed(Clock.systemUTC().instant().plusSeconds(60), ZoneOffset.UTC))
                .verify(token, "inventory").session(), "still valid within its lifetime");
    }

    @Test
    void aTokenIsReusedForTheSameServerAndCallerUntilHalfItsLifetimeIsGone() throws Exception {
        java.util.concurrent.atomic.AtomicReference<java.time.Instant> now = new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.now());
        Clock clock = new Clock() {
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            public java.time.Instant instant() {
                return now.get();
            }
        };
        CallerTokens tokens = CallerTokens.loadOrCreate(dir, "agent-1", Duration.ofMinutes(5), clock);
        String first = tokens.sign("inventory", bob);
        now.set(now.get().plusSeconds(149));
        assertEquals(first, tokens.sign("inventory", bob), "reused while it has more than half its lifetime left");
        assertTrue(!first.equals(tokens.sign("billing", bob)), "another server gets its own");
        assertTrue(!first.equals(tokens.sign("inventory", new McpRequest.Caller("eve@example.test", "billing-agent", "run-42"))));
        now.set(now.get().plusSeconds(1));
        String second = tokens.sign("inventory", bob);
        assertTrue(!first.equals(second), "a new one once half its lifetime is gone");
        assertEquals(now.get().getEpochSecond() + 300, CallerTokenVerifier.fromJwks(tokens.jwks(), clock).verify(second, "inventory")
                .expires().getEpochSecond());
    }

    @Test
    void aJwkSetWithoutAnEd25519KeyIsRefused() {
        assertTrue(assertThrows(java.io.IOException.class, () -> CallerTokenVerifier.fromJwks("{\"keys\":[]}", Clock.systemUTC()))
                .getMessage().contains("no Ed25519 key"));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        String message = assertThrows(SignatureException.class, call).getMessage();
        assertTrue(message.contains(expected), "expected '" + expected + "' in: " + message);
    }
}
