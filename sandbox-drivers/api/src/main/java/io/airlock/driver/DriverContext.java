package io.airlock.driver;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What a driver is given when it is created.
 *
 * @param agentId  this daemon's identity; drivers label what they create with it
 * @param stateDir a directory the driver owns (created by the daemon, mode 0700)
 * @param options  the driver's section of the daemon configuration, as plain values
 * @param events   where the driver reports what happens to sandboxes unasked (must not block)
 */
public record DriverContext(String agentId, Path stateDir, Map<String, Object> options, Consumer<DriverEvent> events) {
    public DriverContext {
        options = Map.copyOf(options == null ? Map.of() : options);
        events = events == null ? e -> { } : events;
    }

    public DriverContext(String agentId, Path stateDir, Map<String, Object> options) {
        this(agentId, stateDir, options, null);
    }
}
