package io.airlock.tunnel.mcp.identity;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * The private MCP server's side of {@link CallerTokens}: checks a caller token against the
 * agent's published JWK Set and says who is calling. What a server written in Java needs to
 * authorise per caller, and what the tests and {@code airlock dev} check tokens with. Accepts
 * EdDSA over Ed25519 only: a token naming any other algorithm is refused, never "downgraded".
 */
public final class CallerTokenVerifier {
    /** How far clocks may disagree between the agent and the server. */
    static final Duration LEEWAY = Duration.ofSeconds(30);
    // An Ed25519 SubjectPublicKeyInfo is this fixed DER prefix followed by the 32-byte key (RFC 8410).
    private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    /** What a verified token says. */
    public record Caller(String issuer, String audience, String user, String agent, String session, Instant expires) {}

    private final Map<String, PublicKey> keys;
    private final Clock clock;

    private CallerTokenVerifier(Map<String, PublicKey> keys, Clock clock) {
        this.keys = keys;
        this.clock = clock;
    }

    /** @param jwks the agent's JWK Set (its admin endpoint's {@code /mcp/jwks.json}, or {@code state_dir/mcp/caller-jwks.json}) */
    public static CallerTokenVerifier fromJwks(String jwks, Clock clock) throws IOException {
        Map<String, PublicKey> keys = new HashMap<>();
        try {
            for (JsonNode jwk : JsonRpcMessages.JSON.readTree(jwks).path("keys")) {
                if (!jwk.path("kty").asText().equals("OKP") || !jwk.path("crv").asText().equals("Ed25519")) {
                    continue;
                }
                byte[] x = Base64.getUrlDecoder().decode(jwk.path("x").asText());
                byte[] spki = new byte[SPKI_PREFIX.length + x.length];
                System.arraycopy(SPKI_PREFIX, 0, spki, 0, SPKI_PREFIX.length);
                System.arraycopy(x, 0, spki, SPKI_PREFIX.length, x.length);
                keys.put(jwk.path("kid").asText(), KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki)));
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException("not a usable JWK Set: " + e.getMessage(), e);
        }
        if (keys.isEmpty()) {
            throw new IOException("the JWK Set holds no Ed25519 key (expected {\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",...}]})");
        }
        return new CallerTokenVerifier(Map.copyOf(keys), clock);
    }

    /**
     * @param audience the server's name in the agent's config, which the token must be for
     * @throws SignatureException naming what is wrong: form, algorithm, key, signature, audience or time
     */
    public Caller verify(String token, String audience) throws SignatureException {
        String[] parts = token == null ? new String[0] : token.split("\\.", -1);
        if (parts.length != 3) {
            throw new SignatureException("not a JWS compact token (expected three dot-separated parts)");
        }
        JsonNode header = json(parts[0], "header");
        if (!header.path("alg").asText().equals("EdDSA")) {
            throw new SignatureException("token algorithm '" + header.path("alg").asText() + "' refused (expected EdDSA)");
        }
        PublicKey key = keys.get(header.path("kid").asText());
        if (key == null) {
            throw new SignatureException("token key id '" + header.path("kid").asText() + "' is not in the JWK Set");
        }
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(key);
            s.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!s.verify(Base64.getUrlDecoder().decode(parts[2]))) {
                throw new SignatureException("token signature does not verify");
            }
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw e instanceof SignatureException se ? se : new SignatureException("token signature unreadable: " + e.getMessage(), e);
        }
        JsonNode claims = json(parts[1], "claims");
        if (!claims.path("aud").asText().equals(audience)) {
            throw new SignatureException("token is for '" + claims.path("aud").asText() + "', not '" + audience + "'");
        }
        Instant now = clock.instant();
        Instant expires = Instant.ofEpochSecond(claims.path("exp").asLong());
        if (!now.minus(LEEWAY).isBefore(expires)) {
            throw new SignatureException("token expired at " + expires);
        }
        if (Instant.ofEpochSecond(claims.path("iat").asLong()).isAfter(now.plus(LEEWAY))) {
            throw new SignatureException("token issued in the future (" + claims.path("iat").asLong() + ")");
        }
        return new Caller(claims.path("iss").asText(), audience, claims.path("sub").asText(), claims.path("agent").asText(),
                claims.path("session").asText(), expires);
    }

    private static JsonNode json(String part, String what) throws SignatureException {
        try {
            JsonNode node = JsonRpcMessages.JSON.readTree(Base64.getUrlDecoder().decode(part));
            if (node == null || !node.isObject()) {
                throw new SignatureException("token " + what + " is not a JSON object");
            }
            return node;
        } catch (IOException | IllegalArgumentException e) {
            throw new SignatureException("token " + what + " unreadable: " + e.getMessage(), e);
        }
    }
}
