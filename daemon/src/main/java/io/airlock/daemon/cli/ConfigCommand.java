package io.airlock.daemon.cli;

import io.airlock.core.config.DaemonConfig;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code airlock config}: the configuration file as the daemon reads it, without starting anything. */
@Command(name = "config", mixinStandardHelpOptions = true,
        description = "Check the configuration file the way 'airlock run' reads it.",
        subcommands = {ConfigCommand.Check.class, ConfigCommand.Drivers.class, ConfigCommand.ImportMcpGateway.class})
public final class ConfigCommand {
    /** The drivers a configuration names: {@code drivers.enabled} and {@code drivers.default}. */
    static Set<String> namedDrivers(DaemonConfig c) {
        Set<String> names = new LinkedHashSet<>(c.drivers().enabled());
        if (!c.drivers().defaultDriver().isEmpty()) {
            names.add(c.drivers().defaultDriver());
        }
        return names;
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Load the configuration and report the first error, naming the field and what it expects.",
                "Exits 0 when it loads (then 'systemctl reload airlock' will take it), 2 when it does not."})
    static final class Check implements Callable<Integer> {
        @Mixin
        ConfigOptions config;

        @Override
        public Integer call() throws Exception {
            // Unlike the daemon, a missing file here is an error: the operator asked about this file.
            DaemonConfig c = ConfigOptions.checked(config.config);
            Set<String> drivers = namedDrivers(c);
            System.out.printf("ok: %s (state_dir %s, audit %s, drivers %s)%n", config.config, c.stateDir(), c.auditDir(),
                    drivers.isEmpty() ? "every one that can run here" : String.join(", ", drivers));
            return 0;
        }
    }

    @Command(name = "drivers", mixinStandardHelpOptions = true,
            description = {"Print the drivers the configuration names (drivers.enabled and drivers.default), one per line;",
                "nothing when it names none. The installer puts the airlock user into the docker group only when docker is one."})
    static final class Drivers implements Callable<Integer> {
        @Mixin
        ConfigOptions config;

        @Override
        public Integer call() throws Exception {
            namedDrivers(ConfigOptions.checked(config.config)).forEach(System.out::println);
            return 0;
        }
    }

    @Command(name = "import-mcp-gateway", mixinStandardHelpOptions = true,
            description = {"Print the mcp: section that makes Airlock the origin an MCP tunnel proxy's configuration",
                "describes: one server per route, upstream.allowed_ips as mcp.allowed_networks, upstream.tls.ca_file",
                "for the https servers, and mcp.gateway on the proxy's listen_addr, tunnel_domain and certificate.",
                "Append it to a configuration file that has no mcp: section yet, stop the proxy, restart airlock:",
                "  airlock config import-mcp-gateway /etc/mcp-gateway/config.yaml >> /etc/airlock/airlock.yaml",
                "What does not carry over is said on stderr."})
    static final class ImportMcpGateway implements Callable<Integer> {
        @picocli.CommandLine.Parameters(index = "0", paramLabel = "PROXY_CONFIG", description = "the proxy's config.yaml")
        java.nio.file.Path proxyConfig;

        @Override
        public Integer call() throws Exception {
            GatewayImport.Result r;
            try {
                r = GatewayImport.convert(proxyConfig);
            } catch (java.io.IOException e) {
                System.err.println("airlock: " + e.getMessage());
                return 2;
            }
            r.notes().forEach(n -> System.err.println("note: " + n));
            System.out.print(r.yaml());
            return 0;
        }
    }
}
