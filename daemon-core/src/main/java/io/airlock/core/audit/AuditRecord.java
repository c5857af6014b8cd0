package io.airlock.core.audit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;

/** One verified line of the log. */
record AuditRecord(long seq, Instant ts, String type, String prev, JsonNode fields, String line) {
    private static final String MAC = ",\"mac\":\"";

    /** Parses and authenticates one line; the message names what is wrong. */
    static AuditRecord parse(String line, AuditKey key) throws IOException {
        String body = requireMac(line, key, "the record");
        JsonNode node;
        try {
            node = AuditLog.JSON.readTree(body);
        } catch (IOException e) {
            throw new IOException("not valid JSON: " + e.getMessage());
        }
        if (!node.path("seq").canConvertToLong() || !node.hasNonNull("ts") || !node.hasNonNull("type") || !node.hasNonNull("prev")) {
            throw new IOException("lacks seq, ts, type or prev");
        }
        return new AuditRecord(node.get("seq").asLong(), Instant.parse(node.get("ts").asText()), node.get("type").asText(),
                node.get("prev").asText(), node, line);
    }

    /** Checks the MAC at the end of {@code line}; returns the line without it (what the MAC covers). */
    static String requireMac(String line, AuditKey key, String what) throws IOException {
        int at = line.lastIndexOf(MAC);
        if (at < 0 || !line.endsWith("\"}") || line.length() - at - MAC.length() - 2 != 64) {
            throw new IOException("not an audit record (no MAC at its end)");
        }
        String body = line.substring(0, at) + "}";
        String mac = line.substring(at + MAC.length(), line.length() - 2);
        if (!MessageDigest.isEqual(mac.getBytes(StandardCharsets.US_ASCII),
                key.mac(body).getBytes(StandardCharsets.US_ASCII))) {
            throw new IOException("the MAC of " + what + " does not match: it was changed, or written without this log's key");
        }
        return body;
    }
}
