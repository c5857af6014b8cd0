package io.airlock.core.sandbox;

import io.airlock.core.config.DaemonConfig;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverEvent;
import io.airlock.driver.DriverException;
import io.airlock.driver.EgressPort;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds drivers with {@link ServiceLoader}, creates the enabled ones that can run here, and
 * picks the default (configured, or the highest-priority available). A configured driver
 * that cannot run is an error naming what to install, not a silent fallback.
 */
public final class DriverRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DriverRegistry.class);

    private final Map<String, SandboxDriver> drivers;
    private final String defaultDriver;

    private DriverRegistry(Map<String, SandboxDriver> drivers, String defaultDriver) {
        this.drivers = drivers;
        this.defaultDriver = defaultDriver;
    }

    /** A registry over drivers made elsewhere (an embedder, tests); the first is the default. */
    public static DriverRegistry of(List<SandboxDriver> drivers) {
        Map<String, SandboxDriver> byName = new LinkedHashMap<>();
        drivers.forEach(d -> byName.put(d.name(), d));
        return new DriverRegistry(byName, drivers.get(0).name());
    }

    public static List<SandboxDriverProvider> providers() {
        List<SandboxDriverProvider> all = new ArrayList<>();
        ServiceLoader.load(SandboxDriverProvider.class).forEach(all::add);
        all.sort(Comparator.comparingInt(SandboxDriverProvider::priority).reversed());
        return all;
    }

    public static DriverRegistry create(DaemonConfig.Drivers config, String agentId, Path stateDir) throws DriverException {
        return create(config, agentId, stateDir, e -> { });
    }

    /** @param events where drivers report what happens to sandboxes unasked (e.g. OOM kills) */
    public static DriverRegistry create(DaemonConfig.Drivers config, String agentId, Path stateDir,
            Consumer<DriverEvent> events) throws DriverException {
        return create(config, agentId, stateDir, events, null);
    }

    /** @param egress the egress proxy drivers route sandboxes through; null when egress is off */
    public static DriverRegistry create(DaemonConfig.Drivers config, String agentId, Path stateDir,
            Consumer<DriverEvent> events, EgressPort egress) throws DriverException {
        List<SandboxDriverProvider> found = providers();
        validate(config, found);
        Map<String, SandboxDriver> drivers = new LinkedHashMap<>();
        List<String> unavailable = new ArrayList<>();
        for (SandboxDriverProvider p : found) {
            boolean wanted = config.enabled().isEmpty() || config.enabled().contains(p.name());
            if (!wanted) {
                continue;
            }
            var reason = p.unavailableReason();
            if (reason.isPresent()) {
                boolean required = config.enabled().contains(p.name()) || p.name().equals(config.defaultDriver());
                if (required) {
                    throw new DriverException(DriverException.Kind.UNAVAILABLE, "driver '" + p.name() + "' cannot run here: " + reason.get());
                }
                unavailable.add(p.name() + " (" + reason.get() + ")");
                continue;
            }
            Path dir = stateDir.resolve("drivers").resolve(p.name());
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (IOException e) {
                throw new DriverException(DriverException.Kind.UNAVAILABLE, "cannot create " + dir + ": " + e.getMessage(), e);
            }
            drivers.put(p.name(), p.create(new DriverContext(agentId, dir, config.options().getOrDefault(p.name(), Map.of()), events, egress)));
            log.info("driver {} ready: {}", p.name(), p.description());
        }
        if (drivers.isEmpty()) {
            throw new DriverException(DriverException.Kind.UNAVAILABLE, "no sandbox driver can run here: "
                    + (unavailable.isEmpty() ? "none found" : String.join("; ", unavailable)));
        }
        String chosen = config.defaultDriver().isEmpty() ? drivers.keySet().iterator().next() : config.defaultDriver();
        log.info("default driver: {}", chosen);
        return new DriverRegistry(drivers, chosen);
    }

    /**
     * The drivers section as every command reads it (run, config check, doctor): the names in
     * drivers.enabled, drivers.default and drivers.options are known drivers, and each driver's
     * options are its own (no unknown key, no bad value).
     */
    public static void validate(DaemonConfig.Drivers config) throws DriverException {
        validate(config, providers());
    }

    private static void validate(DaemonConfig.Drivers config, List<SandboxDriverProvider> found) throws DriverException {
        List<String> known = found.stream().map(SandboxDriverProvider::name).toList();
        for (String name : config.enabled()) {
            if (!known.contains(name)) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.enabled names '" + name
                        + "', which is not a known driver (expected one of: " + String.join(", ", known) + ")");
            }
        }
        if (!config.defaultDriver().isEmpty() && !known.contains(config.defaultDriver())) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.default names '" + config.defaultDriver()
                    + "', which is not a known driver (expected one of: " + String.join(", ", known) + ")");
        }
        for (var e : config.options().entrySet()) {
            SandboxDriverProvider p = found.stream().filter(x -> x.name().equals(e.getKey())).findFirst()
                    .orElseThrow(() -> new DriverException(DriverException.Kind.INVALID_ARGUMENT, "drivers.options." + e.getKey()
                            + ": not a known driver (expected one of: " + String.join(", ", known) + ")"));
            var problem = p.optionsProblem(e.getValue());
            if (problem.isPresent()) {
                throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, problem.get());
            }
        }
    }

    public String defaultDriver() {
        return defaultDriver;
    }

    public Map<String, SandboxDriver> all() {
        return drivers;
    }

    public SandboxDriver get(String name) throws DriverException {
        SandboxDriver d = drivers.get(name.isEmpty() ? defaultDriver : name);
        if (d == null) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "driver '" + name + "' is not enabled on this agent (expected one of: "
                    + drivers.keySet().stream().collect(Collectors.joining(", ")) + ")");
        }
        return d;
    }

    @Override
    public void close() {
        drivers.values().forEach(SandboxDriver::close);
    }
}
