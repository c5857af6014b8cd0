package io.airlock.driver;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What a driver is given when it is created.
 *
 * @param agentId  this daemon's identity; drivers label what they create with it
 * @param stateDir a directory the driver owns (created by the daemon, mode 0700)
 * @param options  the driver's section of the daemon configuration, as plain values
 * @param events   where the driver reports what happens to sandboxes unasked (must not block)
 * @param egress   the daemon's egress proxy; null when egress is off (the operator allows none),
 *                 and sandboxes then get no network at all
 */
public record DriverContext(String agentId, Path stateDir, Map<String, Object> options, Consumer<DriverEvent> events, EgressPort egress) {
    public DriverContext {
        options = Map.copyOf(options == null ? Map.of() : options);
        events = events == null ? e -> { } : events;
    }

    public DriverContext(String agentId, Path stateDir, Map<String, Object> options, Consumer<DriverEvent> events) {
        this(agentId, stateDir, options, events, null);
    }

    public DriverContext(String agentId, Path stateDir, Map<String, Object> options) {
        this(agentId, stateDir, options, null, null);
    }

    public Optional<EgressPort> egressPort() {
        return Optional.ofNullable(egress);
    }
}
