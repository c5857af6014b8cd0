package io.airlock.launcher;

import io.airlock.bench.BenchCommand;
import io.airlock.controlplane.cli.ControlPlaneCommand;
import io.airlock.daemon.Daemon;
import io.airlock.daemon.StartupException;
import io.airlock.daemon.cli.EnrollCommand;
import io.airlock.daemon.cli.RunCommand;
import io.airlock.daemon.config.ConfigException;
import io.airlock.daemon.identity.EnrollmentException;
import io.airlock.driver.DriverException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code airlock}: the one command ops, security teams and developers use. */
@Command(name = "airlock", mixinStandardHelpOptions = true, versionProvider = Airlock.Version.class,
        description = {"Airlock: a self-hosted sandbox and MCP tunnel agent that only dials out.", ""},
        subcommands = {RunCommand.class, EnrollCommand.class, io.airlock.daemon.cli.StatusCommand.class, io.airlock.daemon.cli.DoctorCommand.class,
            io.airlock.daemon.cli.ConfigCommand.class,
            io.airlock.daemon.cli.AuditCommand.class, ControlPlaneCommand.class, DevCommand.class,
            BenchCommand.class})
public final class Airlock {
    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Airlock());
        // Expected failures are one line for the operator, not a stack trace.
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof ConfigException || e instanceof EnrollmentException || e instanceof DriverException || e instanceof StartupException
                    || e instanceof IllegalArgumentException || e instanceof java.io.IOException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String installed = installedPackage();
            return new String[] {"airlock " + Daemon.VERSION + " (" + (installed == null ? "" : "package " + installed + ", ")
                    + "protocol airlock.v1, Java " + Runtime.version() + ")"};
        }

        /** An installed tree (tarball or .deb) names its package version in PACKAGE_VERSION beside lib/; a build has none. */
        private static String installedPackage() {
            try {
                java.nio.file.Path jar = java.nio.file.Path.of(Airlock.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                java.nio.file.Path file = jar.getParent().resolveSibling("PACKAGE_VERSION");
                return java.nio.file.Files.isRegularFile(file) ? java.nio.file.Files.readString(file).strip() : null;
            } catch (java.io.IOException | java.net.URISyntaxException | RuntimeException e) {
                return null;
            }
        }
    }
}
