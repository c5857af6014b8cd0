package io.airlock.daemon.cli;

import io.airlock.core.config.ConfigException;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.driver.DriverException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --config and --state-dir, shared by the daemon's commands. */
public final class ConfigOptions {
    public static final Path DEFAULT_CONFIG = Path.of("/etc/airlock/airlock.yaml");

    @Option(names = {"-c", "--config"}, description = "YAML configuration (docs/configuration.md). Default: ${DEFAULT-VALUE} if it exists")
    Path config = DEFAULT_CONFIG;

    @Option(names = "--state-dir", description = "Overrides state_dir from the configuration")
    Path stateDir;

    DaemonConfig load() throws ConfigException {
        DaemonConfig c = config.equals(DEFAULT_CONFIG) && !Files.exists(config) ? DaemonConfig.defaults() : checked(config);
        return stateDir != null ? c.withStateDir(stateDir) : c;
    }

    /**
     * The file as every command reads it: parsed, and its drivers section checked against the
     * drivers this build has, so that run, config check and doctor accept exactly the same files.
     */
    static DaemonConfig checked(Path file) throws ConfigException {
        DaemonConfig c = ConfigLoader.load(file);
        try {
            DriverRegistry.validate(c.drivers());
        } catch (DriverException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
        return c;
    }
}
