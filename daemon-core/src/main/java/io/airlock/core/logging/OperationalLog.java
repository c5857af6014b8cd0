package io.airlock.core.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import io.airlock.core.config.DaemonConfig;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Points the root logger of {@code airlock run} at stdout, as JSON lines ({@link JsonLineEncoder}:
 * ISO-8601 timestamp, level, thread, logger, key-value pairs, message, throwable when there is one)
 * or as text, at the configured level. Applied at start and again on SIGHUP; the new appender
 * is attached before the old one is detached, so no line is lost in between. Other commands
 * keep the stderr output {@link StderrLogConfigurator} sets up, so their own stdout stays clean for pipes.
 */
public final class OperationalLog {
    /** The text format, on stderr for every command and on stdout for {@code airlock run} with log.format text. */
    static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{20} - %msg %kvp%n";
    private static final String APPENDER = "airlock-stdout-";
    private static String format;

    private OperationalLog() {}

    /** @return false when logback is not the logging backend (then nothing changed) */
    public static synchronized boolean apply(DaemonConfig.Log config) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return false;
        }
        if (format == null) {
            bridgeJavaUtilLogging(context);
        }
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        if (!config.format().equals(format)) {
            ConsoleAppender<ILoggingEvent> out = new ConsoleAppender<>();
            out.setContext(context);
            out.setName(APPENDER + config.format());
            out.setTarget("System.out");
            out.setEncoder(encoder(config.format(), context));
            out.start();
            root.addAppender(out);
            var others = new ArrayList<String>();
            root.iteratorForAppenders().forEachRemaining(a -> {
                if (a != out) {
                    others.add(a.getName());
                }
            });
            others.forEach(root::detachAppender);
            format = config.format();
        }
        root.setLevel(Level.toLevel(config.level(), Level.INFO));
        return true;
    }

    /**
     * grpc-java logs through java.util.logging, whose default handler prints raw lines on stderr
     * (a peer's oversized message, data on a closed stream): route it into this log, at the
     * levels set here (the propagator keeps java.util.logging from building records we drop).
     */
    static void bridgeJavaUtilLogging(LoggerContext context) {
        LevelChangePropagator levels = new LevelChangePropagator();
        levels.setContext(context);
        levels.setResetJUL(true);
        levels.start();
        context.addListener(levels);
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }

    private static Encoder<ILoggingEvent> encoder(String format, LoggerContext context) {
        if (format.equals("json")) {
            JsonLineEncoder json = new JsonLineEncoder();
            json.setContext(context);
            json.start();
            return json;
        }
        PatternLayoutEncoder text = new PatternLayoutEncoder();
        text.setContext(context);
        text.setPattern(TEXT_PATTERN);
        text.start();
        return text;
    }
}
