package io.airlock.tunnel.mcp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Watches a response go by (a JSON body, or an SSE stream event by event) and notes, for every
 * JSON-RPC response in it, whether it carries a result or an error: the outcome the audit
 * record of each request names. Jackson's non-blocking parser is fed the bytes as they pass,
 * so nothing is held back or copied, however large the response. A response the parser cannot
 * read stops the watching (outcomes then stay unknown); it never changes what is relayed.
 */
final class OutcomeScanner {
    private static final JsonFactory JSON = new JsonFactory();
    private static final int MAX_ERROR_MESSAGE = 200;
    private static final byte[] NEWLINE = {'\n'};

    /** The outcome of one request. */
    record Outcome(boolean ok, int code, String message) {}

    private final boolean sse;
    private final Map<String, Outcome> outcomes = new HashMap<>();
    private com.fasterxml.jackson.core.JsonParser parser;
    private boolean broken;

    // SSE line state: the field name of the current line, and whether its value goes to the parser.
    private final StringBuilder field = new StringBuilder();
    private boolean inValue;
    private boolean dataLine;
    private boolean skipSpace;
    private boolean lineEmpty = true;
    private boolean eventHasData;

    // JSON state: depth of the current token, the level messages sit at (1, or 2 in a batch).
    private int depth;
    private int messageLevel = -1;
    private String fieldName;
    private String id;
    private boolean hasResult;
    private boolean inError;
    private Integer errorCode;
    private String errorMessage;

    OutcomeScanner(String contentType) {
        this.sse = contentType != null && contentType.toLowerCase(java.util.Locale.ROOT).startsWith("text/event-stream");
        if (!sse) {
            newParser();
        }
    }

    /** The outcome of the request with this id (JSON text: {@code 1}, {@code "a"}), or null if none was seen. */
    Outcome outcome(String id) {
        return outcomes.get(id);
    }

    void feed(byte[] bytes, int offset, int length) {
        if (broken || length == 0) {
            return;
        }
        if (!sse) {
            parse(bytes, offset, offset + length);
            return;
        }
        int end = offset + length;
        int valueStart = -1;
        for (int i = offset; i < end; i++) {
            byte b = bytes[i];
            if (b == '\n' || b == '\r') {
                if (valueStart >= 0) {
                    parse(bytes, valueStart, i);
                    valueStart = -1;
                }
                endLine();
                continue;
            }
            lineEmpty = false;
            if (!inValue) {
                if (b == ':') {
                    inValue = true;
                    dataLine = field.toString().equals("data");
                    skipSpace = true;
                } else if (field.length() < 16) {
                    field.append((char) b);
                }
                continue;
            }
            if (skipSpace) {
                skipSpace = false;
                if (b == ' ') {
                    continue;
                }
            }
            if (dataLine && valueStart < 0) {
                valueStart = i;
            }
        }
        if (valueStart >= 0) {
            parse(bytes, valueStart, end);
        }
    }

    private void endLine() {
        if (lineEmpty) {
            // A blank line ends the event: its data is one JSON-RPC message (or batch).
            if (eventHasData && parser != null) {
                finishParser();
            }
            eventHasData = false;
        } else if (dataLine) {
            eventHasData = true;
            parse(NEWLINE, 0, 1); // data lines of one event join with a newline, which JSON reads as whitespace
        }
        field.setLength(0);
        inValue = false;
        dataLine = false;
        lineEmpty = true;
    }

    private void newParser() {
        try {
            parser = JSON.createNonBlockingByteArrayParser();
        } catch (IOException e) {
            broken = true;
        }
        depth = 0;
        messageLevel = -1;
        resetMessage();
    }

    private void finishParser() {
        ((ByteArrayFeeder) parser.getNonBlockingInputFeeder()).endOfInput();
        drain();
        parser = null;
    }

    private void parse(byte[] bytes, int from, int to) {
        if (broken || from >= to) {
            return;
        }
        if (parser == null) {
            newParser();
        }
        try {
            ((ByteArrayFeeder) parser.getNonBlockingInputFeeder()).feedInput(bytes, from, to);
        } catch (IOException e) {
            broken = true;
            return;
        }
        drain();
    }

    private void drain() {
        try {
            JsonToken t;
            while ((t = parser.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                token(t);
            }
        } catch (IOException e) {
            broken = true;
        }
    }

    private void token(JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT, START_ARRAY -> {
                if (depth == 0) {
                    messageLevel = t == JsonToken.START_OBJECT ? 1 : 2;
                }
                if (depth == messageLevel) {
                    // A message's field whose value is an object or array.
                    hasResult |= "result".equals(fieldName);
                    inError = "error".equals(fieldName) && t == JsonToken.START_OBJECT;
                }
                depth++;
                if (depth == messageLevel && t == JsonToken.START_OBJECT) {
                    resetMessage();
                }
            }
            case END_OBJECT, END_ARRAY -> {
                if (depth == messageLevel + 1) {
                    inError = false;
                }
                if (depth == messageLevel && t == JsonToken.END_OBJECT) {
                    endMessage();
                }
                depth--;
                if (depth == 0) {
                    messageLevel = -1;
                }
            }
            case FIELD_NAME -> {
                if (depth == messageLevel) {
                    fieldName = parser.currentName();
                } else if (inError && depth == messageLevel + 1) {
                    errorField = parser.currentName();
                }
            }
            default -> scalar(t);
        }
    }

    private String errorField;

    private void scalar(JsonToken t) throws IOException {
        if (depth == messageLevel) {
            if ("id".equals(fieldName)) {
                id = t == JsonToken.VALUE_STRING ? JsonRpcMessages.JSON.writeValueAsString(parser.getText()) : parser.getText();
            } else if ("result".equals(fieldName)) {
                hasResult = true;
            }
        } else if (inError && depth == messageLevel + 1) {
            if ("code".equals(errorField) && t == JsonToken.VALUE_NUMBER_INT) {
                errorCode = parser.getIntValue();
            } else if ("message".equals(errorField) && t == JsonToken.VALUE_STRING) {
                String text = parser.getText();
                errorMessage = text.length() > MAX_ERROR_MESSAGE ? text.substring(0, MAX_ERROR_MESSAGE) + "…" : text;
            }
        }
    }

    private void endMessage() {
        if (id != null && (hasResult || errorCode != null || errorMessage != null)) {
            outcomes.put(id, errorCode == null && errorMessage == null ? new Outcome(true, 0, null)
                    : new Outcome(false, errorCode == null ? 0 : errorCode, errorMessage));
        }
        resetMessage();
    }

    private void resetMessage() {
        fieldName = null;
        errorField = null;
        id = null;
        hasResult = false;
        inError = false;
        errorCode = null;
        errorMessage = null;
    }
}
