package io.airlock.driver;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a driver is given when it is created.
 *
 * @param agentId  this daemon's identity; drivers label what they create with it
 * @param stateDir a directory the driver owns (created by the daemon, mode 0700)
 * @param options  the driver's section of the daemon configuration, as plain values
 */
public record DriverContext(String agentId, Path stateDir, Map<String, Object> options) {
    public DriverContext {
        options = Map.copyOf(options == null ? Map.of() : options);
    }
}
