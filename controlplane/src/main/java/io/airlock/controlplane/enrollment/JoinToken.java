package io.airlock.controlplane.enrollment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * A join token as handed to an operator: {@code airlock-join.<base64url(JSON)>} with the
 * control-plane address, the SHA-256 pin of its CA, the one-time secret and the expiry. The
 * format is documented in docs/protocol.md; the daemon parses it independently.
 */
public record JoinToken(String address, String caSha256, String secret, Instant expiresAt) {
    public static final String PREFIX = "airlock-join.";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Never print the secret: address and expiry only. */
    @Override
    public String toString() {
        return "JoinToken[address=" + address + ", expiresAt=" + expiresAt + "]";
    }

    public String encode() {
        ObjectNode o = JSON.createObjectNode();
        o.put("v", 1);
        o.put("address", address);
        o.put("ca_sha256", caSha256);
        o.put("secret", secret);
        o.put("expires_at", expiresAt.toString());
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(o.toString().getBytes(StandardCharsets.UTF_8));
    }

    public static JoinToken decode(String token) {
        String t = token.strip();
        if (!t.startsWith(PREFIX)) {
            throw new IllegalArgumentException("join token does not start with '" + PREFIX + "'");
        }
        try {
            JsonNode o = JSON.readTree(Base64.getUrlDecoder().decode(t.substring(PREFIX.length())));
            return new JoinToken(o.get("address").asText(), o.get("ca_sha256").asText(), o.get("secret").asText(),
                    Instant.parse(o.get("expires_at").asText()));
        } catch (Exception e) {
            throw new IllegalArgumentException("join token is malformed: " + e.getMessage(), e);
        }
    }
}
