package io.airlock.connector.grpc.identity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.Base64;

/**
 * A join token as the operator received it: {@code airlock-join.<base64url(JSON)>} carrying
 * the control-plane address, the SHA-256 pin of its CA certificate, the one-time secret and the
 * expiry (format in docs/protocol.md).
 */
public record JoinToken(String address, String caSha256, String secret, Instant expiresAt) {
    static final String PREFIX = "airlock-join.";

    /** Never print a token: only its address and expiry are safe to show. */
    @Override
    public String toString() {
        return "JoinToken[address=" + address + ", expiresAt=" + expiresAt + "]";
    }

    public static JoinToken parse(String text) throws EnrollmentException {
        String t = text == null ? "" : text.strip();
        if (!t.startsWith(PREFIX)) {
            throw new EnrollmentException("the join token is malformed: it should start with '" + PREFIX
                    + "' (create one with 'airlock cp token create')");
        }
        JsonNode o;
        try {
            o = new ObjectMapper().readTree(Base64.getUrlDecoder().decode(t.substring(PREFIX.length())));
        } catch (Exception e) {
            throw new EnrollmentException("the join token is malformed: its payload is not base64url JSON");
        }
        for (String field : new String[] {"address", "ca_sha256", "secret", "expires_at"}) {
            if (o == null || !o.hasNonNull(field) || o.get(field).asText().isBlank()) {
                throw new EnrollmentException("the join token is malformed: field '" + field + "' is missing");
            }
        }
        String pin = o.get("ca_sha256").asText();
        if (!pin.matches("[0-9a-f]{64}")) {
            throw new EnrollmentException("the join token is malformed: ca_sha256 is not 64 lower-case hex digits");
        }
        try {
            return new JoinToken(o.get("address").asText(), pin, o.get("secret").asText(), Instant.parse(o.get("expires_at").asText()));
        } catch (java.time.format.DateTimeParseException e) {
            throw new EnrollmentException("the join token is malformed: expires_at is not an ISO-8601 instant");
        }
    }
}
