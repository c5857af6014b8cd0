package io.airlock.core.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import org.slf4j.event.KeyValuePair;

/**
 * One JSON object per log line, with logback's JsonEncoder's field names so readers of either parse
 * both, but an ISO-8601 UTC {@code timestamp} instead of epoch milliseconds, and no {@code throwable}
 * (or {@code kvpList}) key at all when there is none; logback's own writes {@code "throwable":null}
 * and offers no timestamp format.
 */
public final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] NONE = new byte[0];

    @Override
    public byte[] encode(ILoggingEvent event) {
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(line)) {
            g.writeStartObject();
            g.writeStringField("timestamp", Instant.ofEpochMilli(event.getTimeStamp()).toString());
            g.writeStringField("level", event.getLevel().toString());
            g.writeStringField("threadName", event.getThreadName());
            g.writeStringField("loggerName", event.getLoggerName());
            if (event.getKeyValuePairs() != null && !event.getKeyValuePairs().isEmpty()) {
                g.writeArrayFieldStart("kvpList");
                for (KeyValuePair kv : event.getKeyValuePairs()) {
                    g.writeStartObject();
                    g.writeStringField(kv.key, String.valueOf(kv.value));
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeStringField("formattedMessage", event.getFormattedMessage());
            if (event.getThrowableProxy() != null) {
                g.writeFieldName("throwable");
                writeThrowable(g, event.getThrowableProxy(), 0);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        line.write('\n');
        return line.toByteArray();
    }

    /** Class, message, frames and causes; a cause chain is cut at 8, a cycle cannot loop. */
    private static void writeThrowable(JsonGenerator g, IThrowableProxy t, int depth) throws IOException {
        g.writeStartObject();
        g.writeStringField("className", t.getClassName());
        if (t.getMessage() != null) {
            g.writeStringField("message", t.getMessage());
        }
        g.writeArrayFieldStart("stepArray");
        for (StackTraceElementProxy step : t.getStackTraceElementProxyArray()) {
            g.writeString(step.getStackTraceElement().toString());
        }
        g.writeEndArray();
        if (t.getCause() != null && depth < 8) {
            g.writeFieldName("cause");
            writeThrowable(g, t.getCause(), depth + 1);
        }
        g.writeEndObject();
    }

    @Override
    public byte[] headerBytes() {
        return NONE;
    }

    @Override
    public byte[] footerBytes() {
        return NONE;
    }
}
