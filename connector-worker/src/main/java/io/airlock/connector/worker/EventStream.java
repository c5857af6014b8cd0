package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads server-sent events from a session's stream: the {@code data} of each event as JSON,
 * pings skipped. Lines are bounded ({@value #MAX_LINE} bytes): a longer one ends the stream with
 * an error rather than growing without end. (The JDK's HttpClient has no SSE parser, and the
 * format is four rules; a library for it would be larger than this.)
 */
final class EventStream implements AutoCloseable {
    static final int MAX_LINE = 4 << 20;
    private final InputStream in;

    EventStream(InputStream in) {
        this.in = new java.io.BufferedInputStream(in, 16 * 1024);
    }

    /** The next event's data, or null at the end of the stream. */
    JsonNode next() throws IOException {
        String event = null;
        StringBuilder data = new StringBuilder();
        while (true) {
            String line = line();
            if (line == null) {
                return null;
            }
            if (line.isEmpty()) {
                if (!data.isEmpty() && !"ping".equals(event)) {
                    if ("error".equals(event)) {
                        throw new IOException("the event stream sent an error: " + data);
                    }
                    return WorkQueueApi.JSON.readTree(data.toString());
                }
                event = null;
                data.setLength(0);
            } else if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:")) {
                if (!data.isEmpty()) {
                    data.append('\n');
                }
                data.append(line.substring(5).startsWith(" ") ? line.substring(6) : line.substring(5));
            } // comments (":") and other fields are ignored, as the format says
        }
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                break;
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("an event stream line is over " + MAX_LINE + " bytes");
            }
            b.write(c);
        }
        if (c < 0 && b.size() == 0) {
            return null;
        }
        String s = b.toString(StandardCharsets.UTF_8);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // closing to stop reading; nothing to add
        }
    }
}
