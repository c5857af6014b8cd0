package io.airlock.proto.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;

/**
 * A join token: {@code airlock-join.<base64url(JSON)>} carrying the control-plane address, the
 * SHA-256 pin of its CA certificate, the one-time secret and the expiry (docs/protocol.md). The
 * control plane encodes it, the agent parses it; both use this one codec.
 */
public record JoinToken(String address, String caSha256, String secret, Instant expiresAt) {
    public static final String PREFIX = "airlock-join.";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Never print a token: only its address and expiry are safe to show. */
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

    /** @throws IllegalArgumentException naming what is malformed */
    public static JoinToken parse(String text) {
        String t = text == null ? "" : text.strip();
        if (!t.startsWith(PREFIX)) {
            throw new IllegalArgumentException("the join token is malformed: it should start with '" + PREFIX
                    + "' (create one with 'airlock cp token create')");
        }
        JsonNode o;
        try {
            o = JSON.readTree(Base64.getUrlDecoder().decode(t.substring(PREFIX.length())));
        } catch (Exception e) {
            throw new IllegalArgumentException("the join token is malformed: its payload is not base64url JSON");
        }
        for (String field : new String[] {"address", "ca_sha256", "secret", "expires_at"}) {
            if (o == null || !o.hasNonNull(field) || o.get(field).asText().isBlank()) {
                throw new IllegalArgumentException("the join token is malformed: field '" + field + "' is missing");
            }
        }
        String pin = o.get("ca_sha256").asText();
        if (!pin.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("the join token is malformed: ca_sha256 is not 64 lower-case hex digits");
        }
        try {
            return new JoinToken(o.get("address").asText(), pin, o.get("secret").asText(), Instant.parse(o.get("expires_at").asText()));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("the join token is malformed: expires_at is not an ISO-8601 instant");
        }
    }
}
