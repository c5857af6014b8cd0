package io.airlock.controlplane.enrollment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.proto.support.JoinToken;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Join tokens: one use each, not after their expiry, and the token text the agent parses back. */
class JoinTokenStoreTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-01T10:00:00Z"));
    private final JoinTokenStore store = new JoinTokenStore(new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    });

    @Test
    void aTokenWorksOnceAndItsTextRoundTrips() throws Exception {
        JoinToken t = store.create("cp.example.com:7443", "ab".repeat(32), Duration.ofMinutes(15));
        assertEquals(t, JoinToken.parse(t.encode()), "the agent reads what the control plane wrote");
        assertFalse(t.toString().contains(t.secret()), "the secret is never printed: " + t);
        store.redeem(t.secret());
        var again = assertThrows(JoinTokenStore.InvalidTokenException.class, () -> store.redeem(t.secret()));
        assertTrue(again.getMessage().contains("already used"), again.getMessage());
        var unknown = assertThrows(JoinTokenStore.InvalidTokenException.class, () -> store.redeem("nope"));
        assertTrue(unknown.getMessage().contains("unknown"), unknown.getMessage());
    }

    @Test
    void anExpiredTokenIsRefusedSayingWhen() {
        JoinToken t = store.create("cp:7443", "ab".repeat(32), Duration.ofMinutes(15));
        now.set(now.get().plus(Duration.ofMinutes(15)));
        var expired = assertThrows(JoinTokenStore.InvalidTokenException.class, () -> store.redeem(t.secret()));
        assertTrue(expired.getMessage().contains("expired at 2026-12-01T10:15:00Z"), expired.getMessage());
        var ttl = assertThrows(IllegalArgumentException.class, () -> store.create("cp:7443", "ab".repeat(32), Duration.ofDays(8)));
        assertTrue(ttl.getMessage().contains("<= 7 days"), ttl.getMessage());
    }

    @Test
    void aMalformedTokenNamesWhatIsWrong() {
        String good = store.create("cp:7443", "ab".repeat(32), Duration.ofMinutes(1)).encode();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JoinToken.parse("hello")).getMessage()
                .contains("should start with 'airlock-join.'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JoinToken.parse(good.substring(0, 20))).getMessage()
                .contains("is not base64url JSON"));
        String noPin = JoinToken.PREFIX + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                "{\"address\":\"a:1\",\"ca_sha256\":\"xyz\",\"secret\":\"s\",\"expires_at\":\"2026-12-01T10:00:00Z\"}".getBytes());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JoinToken.parse(noPin)).getMessage()
                .contains("ca_sha256 is not 64 lower-case hex digits"));
    }
}
