package io.airlock.core.audit;

import java.util.regex.Pattern;

/**
 * A point of the chain held outside this host: the seq and hash of a record that was on disk
 * when the daemon reported it to the control plane. A log rolled back (records cut and an older
 * genuine head restored) verifies locally, but no longer reaches its anchor. Written
 * {@code SEQ:HASH}.
 */
public record AuditAnchor(long seq, String hash) {
    private static final Pattern FORM = Pattern.compile("([1-9][0-9]{0,18}):([0-9a-f]{64})");

    public AuditAnchor {
        if (seq < 1 || hash == null || hash.length() != 64) {
            throw new IllegalArgumentException("audit anchor: seq " + seq + " and hash " + hash
                    + " (expected: a seq >= 1 and a 64-digit lower-case hex SHA-256)");
        }
    }

    /** Parses {@code SEQ:HASH} as {@code airlock cp agents} prints it. */
    public static AuditAnchor parse(String text) {
        var m = FORM.matcher(text == null ? "" : text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("audit anchor '" + text + "' (expected: SEQ:HASH, e.g. 1234:"
                    + "0".repeat(8) + "..., a seq >= 1 and the record's 64-digit lower-case hex SHA-256, as 'airlock cp agents' shows it)");
        }
        return new AuditAnchor(Long.parseLong(m.group(1)), m.group(2));
    }

    @Override
    public String toString() {
        return seq + ":" + hash;
    }
}
