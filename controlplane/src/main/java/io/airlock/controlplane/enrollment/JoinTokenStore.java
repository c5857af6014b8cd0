package io.airlock.controlplane.enrollment;

import io.airlock.proto.support.JoinToken;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Outstanding join tokens. Only a hash of each secret is kept; a token is redeemed once.
 * Used tokens are remembered until they would have expired, so a replay gets "already used"
 * rather than "unknown".
 */
public final class JoinTokenStore {
    /** Bound on remembered tokens; creating more fails rather than growing without limit. */
    static final int MAX_TOKENS = 10_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Entry(Instant expiresAt, boolean used) {}

    private final Map<String, Entry> tokens = new LinkedHashMap<>();
    private final Clock clock;

    public JoinTokenStore(Clock clock) {
        this.clock = clock;
    }

    public synchronized JoinToken create(String address, String caPin, Duration ttl) {
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(Duration.ofDays(7)) > 0) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0 and <= 7 days)");
        }
        prune();
        if (tokens.size() >= MAX_TOKENS) {
            throw new IllegalStateException("too many outstanding join tokens (" + MAX_TOKENS + "); let some expire first");
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String s = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Instant expires = clock.instant().plus(ttl);
        tokens.put(hash(s), new Entry(expires, false));
        return new JoinToken(address, caPin, s, expires);
    }

    /** Marks the token used; throws {@link InvalidTokenException} saying why it cannot be. */
    public synchronized void redeem(String secret) throws InvalidTokenException {
        String h = hash(secret);
        Entry e = tokens.get(h);
        if (e == null) {
            throw new InvalidTokenException("join token is unknown to this control plane (create one with 'airlock cp token create')");
        }
        if (e.used()) {
            throw new InvalidTokenException("join token was already used; tokens work once (create a new one)");
        }
        if (!clock.instant().isBefore(e.expiresAt())) {
            throw new InvalidTokenException("join token expired at " + e.expiresAt() + " (create a new one)");
        }
        tokens.put(h, new Entry(e.expiresAt(), true));
    }

    private void prune() {
        Instant now = clock.instant();
        tokens.values().removeIf(e -> !now.isBefore(e.expiresAt()));
    }

    private static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Why a token was refused, for the enrolling operator. */
    public static final class InvalidTokenException extends Exception {
        private static final long serialVersionUID = 1L;

        public InvalidTokenException(String message) {
            super(message);
        }
    }
}
