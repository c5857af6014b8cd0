package io.airlock.daemon.cli;

import io.airlock.daemon.config.ConfigException;
import io.airlock.daemon.config.ConfigLoader;
import io.airlock.daemon.config.DaemonConfig;
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
        DaemonConfig c = config.equals(DEFAULT_CONFIG) && !Files.exists(config) ? DaemonConfig.defaults() : ConfigLoader.load(config);
        return stateDir != null ? c.withStateDir(stateDir) : c;
    }
}
