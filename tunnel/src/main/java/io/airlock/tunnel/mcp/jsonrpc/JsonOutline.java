package io.airlock.tunnel.mcp.jsonrpc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Steps over JSON-RPC messages fed as bytes, in pieces as they arrive, and notes for every
 * response its id and whether it carries a result or an error (code, message): the outcome an
 * audit record names. One message, or a batch (an array of them).
 *
 * <p>Written by hand rather than on Jackson's non-blocking parser, which hands out every string
 * value whole: a 4 MiB tool result was decoded into a 4 MiB char buffer only to be skipped, and
 * that was the daemon's largest cost on large responses. Here a string's bytes are stepped
 * over, and only the few values an outcome needs are kept (bounded). It does not validate: what
 * it cannot read leaves the outcome unknown, and never changes what is relayed.
 */
public final class JsonOutline {
    /** The outcome of one request. */
    public record Outcome(boolean ok, int code, String message) {}

    private static final int MAX_ERROR_MESSAGE = 200;
    private static final int MAX_KEY = 16;
    private static final int MAX_ID = 256;
    private static final int MAX_RAW_MESSAGE = 1024;
    private static final int MAX_CODE = 12;

    private static final Pattern PLAIN_INTEGER = Pattern.compile("-?[1-9][0-9]{0,17}|0");

    private enum Target { NONE, KEY, ID, CODE, MESSAGE }

    private final Map<String, Outcome> outcomes;

    // Structure: nesting depth (0 between values), the depth inside a message (1, or 2 in a batch).
    private int depth;
    private int messageLevel = -1;
    private boolean inString;
    private boolean escaped;
    private boolean inScalar;
    private boolean broken;
    /** At the message's level or in its error object: the next string is a key. */
    private boolean expectKey;
    private String key;

    // What is being kept of the current key or value.
    private Target target = Target.NONE;
    private final byte[] kept = new byte[MAX_RAW_MESSAGE + 2];
    private int keptLength;
    private boolean keptWhole;

    // The message being read.
    private boolean inError;
    private String id;
    private boolean hasResult;
    private Integer errorCode;
    private String errorMessage;

    /** @param outcomes where the outcome of each response read goes, by its id as JSON text */
    JsonOutline(Map<String, Outcome> outcomes) {
        this.outcomes = outcomes;
    }

    /** Forgets where it stood, to read a new JSON text (the next SSE event). */
    void reset() {
        depth = 0;
        messageLevel = -1;
        inString = false;
        escaped = false;
        inScalar = false;
        broken = false;
        expectKey = false;
        key = null;
        target = Target.NONE;
        resetMessage();
    }

    /**
     * Reads {@code bytes[from, to)}. With {@code stopAtLineEnd} (an SSE data line) it stops at a
     * CR or LF and returns its index, for the caller to handle; otherwise it returns {@code to}.
     */
    int feed(byte[] bytes, int from, int to, boolean stopAtLineEnd) {
        int i = from;
        while (i < to) {
            byte b = bytes[i];
            if (stopAtLineEnd && (b == '\n' || b == '\r')) {
                return i;
            }
            if (broken) {
                i++;
                continue;
            }
            if (inString) {
                i = string(bytes, i, to, stopAtLineEnd);
                continue;
            }
            i++;
            switch (b) {
                case '"' -> {
                    endScalar();
                    inString = true;
                    startString();
                }
                case '{', '[' -> {
                    endScalar();
                    open(b);
                }
                case '}', ']' -> {
                    endScalar();
                    close(b);
                }
                case ':' -> {
                    endScalar();
                    expectKey = false;
                }
                case ',' -> {
                    endScalar();
                    expectKey = interesting();
                }
                case ' ', '\t', '\n', '\r' -> endScalar();
                default -> scalarByte(b);
            }
        }
        return to;
    }

    /** The end of an SSE data line: the lines of one event join with a newline, whitespace to JSON. */
    void lineBreak() {
        endScalar();
    }

    /** The JSON text is complete (the SSE event ended): a number at its very end is done. */
    void end() {
        endScalar();
    }

    /** Inside a string from {@code i}: steps to its closing quote (or the end of what is here). */
    private int string(byte[] bytes, int i, int to, boolean stopAtLineEnd) {
        if (escaped) {
            escaped = false;
            keep(bytes, i, i + 1);
            return i + 1;
        }
        int start = i;
        i = stopAtLineEnd ? ByteSearch.indexOfAny(bytes, i, to, (byte) '"', (byte) '\\', (byte) '\n', (byte) '\r')
                : ByteSearch.indexOfAny(bytes, i, to, (byte) '"', (byte) '\\');
        keep(bytes, start, i);
        if (i == to || bytes[i] == '\n' || bytes[i] == '\r') {
            return i;
        }
        if (bytes[i] == '\\') {
            escaped = true;
            keep(bytes, i, i + 1);
            return i + 1;
        }
        inString = false;
        endString();
        return i + 1;
    }

    /** At the message's own level, or directly in its error object. */
    private boolean interesting() {
        return messageLevel > 0 && (depth == messageLevel || (inError && depth == messageLevel + 1));
    }

    private void open(byte b) {
        if (depth == 0) {
            messageLevel = b == '{' ? 1 : 2;
        }
        if (depth == messageLevel && !expectKey && "error".equals(key) && b == '{') {
            inError = true;
        }
        depth++;
        if (depth == messageLevel && b == '{') {
            resetMessage();
        }
        expectKey = interesting() && b == '{';
        key = expectKey ? null : key;
    }

    private void close(byte b) {
        if (depth <= 0) {
            broken = true;
            return;
        }
        if (depth == messageLevel && b == '}') {
            endMessage();
        }
        if (inError && depth == messageLevel + 1) {
            inError = false;
        }
        depth--;
        if (depth == 0) {
            messageLevel = -1;
        }
        expectKey = false;
    }

    private void startString() {
        if (!interesting()) {
            return;
        }
        if (expectKey) {
            begin(Target.KEY);
        } else if (depth == messageLevel && "id".equals(key)) {
            begin(Target.ID);
            keepByte((byte) '"');
        } else if (depth == messageLevel + 1 && "message".equals(key)) {
            begin(Target.MESSAGE);
        }
    }

    private void endString() {
        switch (target) {
            case KEY -> {
                key = keptWhole ? keptText() : "";
                hasResult |= depth == messageLevel && "result".equals(key);
            }
            case ID -> {
                keepByte((byte) '"');
                id = keptWhole ? canonicalId(keptText(), true) : null;
            }
            case MESSAGE -> errorMessage = errorText();
            default -> {}
        }
        target = Target.NONE;
    }

    private void scalarByte(byte b) {
        if (!inScalar) {
            inScalar = true;
            if (interesting() && !expectKey) {
                if (depth == messageLevel && "id".equals(key)) {
                    begin(Target.ID);
                } else if (depth == messageLevel + 1 && "code".equals(key)) {
                    begin(Target.CODE);
                }
            }
        }
        keepByte(b);
    }

    private void endScalar() {
        if (!inScalar) {
            return;
        }
        inScalar = false;
        if (target == Target.ID) {
            id = keptWhole ? canonicalId(keptText(), false) : null;
        } else if (target == Target.CODE && keptWhole) {
            try {
                errorCode = Integer.parseInt(keptText());
            } catch (NumberFormatException e) {
                // not an integer: no code
            }
        }
        target = Target.NONE;
    }

    private void begin(Target t) {
        target = t;
        keptLength = 0;
        keptWhole = true;
    }

    private void keepByte(byte b) {
        if (target != Target.NONE && keptLength < limit()) {
            kept[keptLength++] = b;
        } else if (target != Target.NONE) {
            keptWhole = false;
        }
    }

    private int limit() {
        return switch (target) {
            case KEY -> MAX_KEY;
            case ID -> MAX_ID;
            case CODE -> MAX_CODE;
            default -> MAX_RAW_MESSAGE;
        };
    }

    private void keep(byte[] bytes, int from, int to) {
        if (target == Target.NONE || from >= to) {
            return;
        }
        int limit = limit();
        int n = Math.min(to - from, limit - keptLength);
        if (n < to - from) {
            keptWhole = false;
        }
        if (n > 0) {
            System.arraycopy(bytes, from, kept, keptLength, n);
            keptLength += n;
        }
    }

    private String keptText() {
        return new String(kept, 0, keptLength, StandardCharsets.UTF_8);
    }

    /**
     * The id as Jackson writes it ({@code JsonNode.toString()}), which is how requests are named:
     * plain integers and strings without escapes are already so; anything else is read once.
     */
    private static String canonicalId(String raw, boolean string) {
        boolean plain = string ? raw.indexOf('\\') < 0 : PLAIN_INTEGER.matcher(raw).matches();
        if (plain) {
            return raw;
        }
        try {
            return JsonRpcMessages.JSON.readTree(raw).toString();
        } catch (IOException e) {
            return raw;
        }
    }

    /** The error message's text (escapes decoded), at most {@value #MAX_ERROR_MESSAGE} characters. */
    private String errorText() {
        // Cut short, the kept bytes may end inside an escape (at most 6 bytes) or a UTF-8
        // sequence (at most 4): shorter and shorter, until what is left decodes.
        for (int n = keptLength; n >= Math.max(0, keptLength - (keptWhole ? 0 : 6)); n--) {
            byte[] quoted = new byte[n + 2];
            quoted[0] = '"';
            System.arraycopy(kept, 0, quoted, 1, n);
            quoted[n + 1] = '"';
            try {
                String text = JsonRpcMessages.JSON.readValue(quoted, String.class);
                return text.length() > MAX_ERROR_MESSAGE || !keptWhole ? text.substring(0, Math.min(text.length(), MAX_ERROR_MESSAGE)) + "…" : text;
            } catch (IOException e) {
                // shorter
            }
        }
        return null;
    }

    private void endMessage() {
        if (id != null && (hasResult || errorCode != null || errorMessage != null)) {
            outcomes.put(id, errorCode == null && errorMessage == null ? new Outcome(true, 0, null)
                    : new Outcome(false, errorCode == null ? 0 : errorCode, errorMessage));
        }
        resetMessage();
    }

    private void resetMessage() {
        inError = false;
        id = null;
        hasResult = false;
        errorCode = null;
        errorMessage = null;
    }
}
