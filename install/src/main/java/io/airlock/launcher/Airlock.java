package io.airlock.launcher;

import io.airlock.bench.BenchCommand;
import io.airlock.connector.grpc.identity.EnrollmentException;
import io.airlock.controlplane.cli.ControlPlaneCommand;
import io.airlock.core.config.ConfigException;
import io.airlock.daemon.BuildVersion;
import io.airlock.daemon.StartupException;
import io.airlock.daemon.cli.AuditCommand;
import io.airlock.daemon.cli.ConfigCommand;
import io.airlock.daemon.cli.ConformanceCommand;
import io.airlock.daemon.cli.DoctorCommand;
import io.airlock.daemon.cli.EnrollCommand;
import io.airlock.daemon.cli.RunCommand;
import io.airlock.daemon.cli.ApprovalsCommand;
import io.airlock.daemon.cli.StatusCommand;
import io.airlock.driver.DriverException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** {@code airlock}: the one command ops, security teams and developers use. */
@Command(name = "airlock", mixinStandardHelpOptions = true, versionProvider = Airlock.Version.class,
        description = {"Airlock: a self-hosted sandbox and MCP tunnel agent that only dials out.", ""})
public final class Airlock {
    /** Every subcommand, in the order --help lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(RunCommand.class, EnrollCommand.class, StatusCommand.class, ApprovalsCommand.class,
            DoctorCommand.class, ConfigCommand.class, AuditCommand.class, ConformanceCommand.class, ControlPlaneCommand.class, DevCommand.class, BenchCommand.class);

    public static void main(String[] args) {
        System.exit(commandLine(args).execute(args));
    }

    /**
     * The command tree for {@code args}, with its handling of expected failures. Picocli reflects over
     * every command it is given before it parses; a command line that names a subcommand gets only that
     * one, which halves the start of short commands; --version gets none. Anything else (--help, a typo)
     * gets them all.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new Airlock());
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            return cli;
        }
        Class<?> named = args.length == 0 ? null : SUBCOMMANDS.stream()
                .filter(c -> c.getAnnotation(Command.class).name().equals(args[0])).findFirst().orElse(null);
        for (Class<?> c : named != null ? List.of(named) : SUBCOMMANDS) {
            if (c == ControlPlaneCommand.class) {
                cli.addSubcommand("cp", ControlPlaneCommand.commandLine(named != null ? Arrays.copyOfRange(args, 1, args.length) : new String[0]));
            } else {
                cli.addSubcommand(c);
            }
        }
        // Expected failures are one line for the operator, not a stack trace.
        cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
            if (e instanceof ConfigException || e instanceof EnrollmentException || e instanceof DriverException || e instanceof StartupException
                    || e instanceof IllegalArgumentException || e instanceof IOException) {
                commandLine.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String installed = installedPackage();
            return new String[] {"airlock " + BuildVersion.VERSION + " (" + (installed == null ? "" : "package " + installed + ", ")
                    + "protocol airlock.v1, Java " + Runtime.version() + ")"};
        }

        /**
         * An installed tree (tarball or .deb) names its package version in PACKAGE_VERSION; its launcher
         * passes the tree as airlock.home. (Not found through the jar's code source: for a class from the
         * class-data archive that is where the archive was made, not where the tree is now.) A build has none.
         */
        private static String installedPackage() {
            String home = System.getProperty("airlock.home");
            if (home == null) {
                return null;
            }
            try {
                Path file = Path.of(home, "PACKAGE_VERSION");
                return Files.isRegularFile(file) ? Files.readString(file).strip() : null;
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }
}
