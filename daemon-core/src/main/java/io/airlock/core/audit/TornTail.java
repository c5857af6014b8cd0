package io.airlock.core.audit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Tells a crash's torn write from anything else at the end of a log. The writer writes a record
 * and its newline in one call, so a crash can leave only the start of the record it was writing:
 * bytes that begin like record {@code nextSeq} and are not yet whole JSON. A whole JSON object
 * whose MAC fails, or bytes that start otherwise, were put there by someone else.
 */
final class TornTail {
    private static final ObjectReader STRICT = AuditLog.JSON.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private TornTail() {}

    /** Null when {@code tail} can be a torn write of record {@code nextSeq}; else what it is instead. */
    static String problem(byte[] tail, long nextSeq) {
        String text = new String(tail, StandardCharsets.UTF_8);
        if (wholeJson(text)) {
            return "a whole record (" + tail.length + " bytes) whose MAC does not match, not a torn write: a crash leaves only "
                    + "part of a record, since a record and its newline are written in one call; it was added or changed";
        }
        String start = "{\"seq\":" + nextSeq + ",\"ts\":\"";
        if (!text.startsWith(start) && !start.startsWith(text)) {
            return tail.length + " bytes that do not begin like record seq " + nextSeq
                    + ", not a torn write: a crash leaves only the start of the record being written; they were added";
        }
        return null;
    }

    private static boolean wholeJson(String text) {
        try {
            return STRICT.readTree(text).isObject();
        } catch (IOException e) {
            return false;
        }
    }
}
