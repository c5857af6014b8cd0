package io.airlock.controlplane.cli;

import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.airlock.controlplane.admin.AdminCalls;
import io.airlock.controlplane.admin.v1.ListAgentsRequest;
import io.airlock.notation.Durations;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code airlock cp}: the reference control plane and its admin CLI. */
@Command(name = "cp", mixinStandardHelpOptions = true,
        description = "Run the reference control plane, or drive agents connected to a running one.",
        footer = {"", ControlPlaneCommand.EXIT_HELP})
public final class ControlPlaneCommand {
    /** The subcommands, in the order --help lists them; {@link #commandLine} adds them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(ServeCommand.Serve.class, AgentCommands.Token.class, AgentCommands.Agents.class,
            AgentCommands.AuditAnchorCommand.class, SandboxCommands.Create.class, SandboxCommands.Egress.class, SandboxCommands.Ls.class,
            SandboxCommands.Rm.class, SandboxCommands.Pause.class, SandboxCommands.Resume.class, FileCommands.Exec.class,
            FileCommands.Copy.class, FileCommands.ListWorkspace.class, FileCommands.Stat.class, SnapshotCommands.Snapshot.class,
            SnapshotCommands.Snapshots.class, SnapshotCommands.SnapshotRm.class, AgentCommands.Events.class, CaCommands.Ca.class,
            CaCommands.Cert.class);

    /** Where every subcommand writes (found from its spec by {@link CliOutput#of}). */
    final CliOutput output;

    private ControlPlaneCommand(CliOutput output) {
        this.output = output;
    }

    /**
     * {@code airlock cp} for the arguments that follow it, writing to this process's stdout and
     * stderr. Picocli reflects over every subcommand it is given before it parses: arguments that
     * name one get only that one (an admin command starts about 60 ms sooner); anything else
     * (--help, a typo) gets them all.
     */
    public static CommandLine commandLine(String... args) {
        return commandLine(CliOutput.system(), args);
    }

    /** As {@link #commandLine(String...)}, everything (picocli's help and usage errors too) written to {@code captured}. */
    public static CommandLine commandLine(CliOutput.Captured captured, String... args) {
        CommandLine cli = commandLine(captured.output(), args);
        cli.setOut(captured.outWriter());
        cli.setErr(captured.errWriter());
        return cli;
    }

    private static CommandLine commandLine(CliOutput output, String... args) {
        CommandLine cli = new CommandLine(new ControlPlaneCommand(output));
        Class<?> named = args.length == 0 ? null : SUBCOMMANDS.stream()
                .filter(c -> c.getAnnotation(Command.class).name().equals(args[0])).findFirst().orElse(null);
        for (Class<?> c : named != null ? List.of(named) : SUBCOMMANDS) {
            cli.addSubcommand(c);
        }
        return cli;
    }

    static final String STATE_HELP = "Control plane state directory (CA, admin token and address). "
            + "Default: $AIRLOCK_CP_STATE_DIR, else .airlock/controlplane";

    static Path defaultStateDir() {
        String env = System.getenv("AIRLOCK_CP_STATE_DIR");
        return Path.of(env != null && !env.isBlank() ? env : ".airlock/controlplane");
    }

    /** Options every admin subcommand shares. */
    static class StateOptions {
        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Option(names = "--json", description = "Print JSON instead of a table")
        boolean json;
    }

    /** Options of the admin subcommands addressed to an agent. */
    static class AdminOptions extends StateOptions {
        @Option(names = "--agent", description = "Agent id; default: the only connected agent")
        String agent = "";

        @Option(names = "--wait", paramLabel = "DURATION",
                description = "How long a command waits for an offline agent before it is given up, never sent (e.g. 0s, 30s, 5m). "
                        + "Default: ${DEFAULT-VALUE}")
        String wait = "10s";
    }

    /** Exit status of a call the control plane answered with an error (for exec: or the command's own status). */
    static final int EXIT_REFUSED = 1;

    /** Exit status when the control plane could not be reached, or the connection broke under the call. */
    static final int EXIT_TRANSPORT = 125;

    static final String EXIT_HELP = "Exit status: 0 done; 1 the control plane or the agent answered with an error (for exec: also the "
            + "command's own status); 2 a bad argument or local file; 125 the control plane could not be reached, or the connection "
            + "broke during the call (the message says whether the command may have run).";

    static String json(MessageOrBuilder m) {
        try {
            return JsonFormat.printer().omittingInsignificantWhitespace().print(m);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A small JSON object of strings and numbers, through the same printer (so --json never hand-builds a string). */
    static String json(Map<String, ?> fields) {
        Struct.Builder o = Struct.newBuilder();
        fields.forEach((k, v) -> o.putFields(k, v instanceof Number n ? Value.newBuilder().setNumberValue(n.doubleValue()).build()
                : Value.newBuilder().setStringValue(String.valueOf(v)).build()));
        return json(o);
    }

    /** An admin call addressed to an agent: --agent and --wait beside the state directory. */
    abstract static class AdminCall extends ControlPlaneCall {
        @CommandLine.Mixin
        AdminOptions opts = new AdminOptions();

        @Override
        AdminOptions options() {
            return opts;
        }
    }

    /** An admin call about the control plane itself (join tokens, the agent list): no --agent, no --wait. */
    abstract static class StateCall extends ControlPlaneCall {
        @CommandLine.Mixin
        StateOptions opts = new StateOptions();

        @Override
        StateOptions options() {
            return opts;
        }
    }

    /** A subcommand: it writes through {@link #out()}, never to the process's streams itself. */
    abstract static class CliCommand implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        CliOutput out() {
            return CliOutput.of(spec);
        }
    }

    /** Runs an admin call, turning a failure into one line on stderr and an exit status that says what kind it was. */
    @Command(footer = {"", EXIT_HELP})
    abstract static class ControlPlaneCall extends CliCommand {
        abstract StateOptions options();

        abstract int run(AdminConnection admin) throws Exception;

        @Override
        public Integer call() throws Exception {
            AdminOptions agentOptions = options() instanceof AdminOptions a ? a : null;
            Duration wait = Duration.ZERO;
            try {
                if (agentOptions != null) {
                    wait = Durations.parse(agentOptions.wait);
                }
            } catch (IllegalArgumentException e) {
                out().errln("error: --wait: " + e.getMessage());
                return 2;
            }
            AdminConnection admin;
            try {
                admin = new AdminConnection(options().stateDir, wait);
            } catch (IOException e) {
                out().errln("error: " + e.getMessage());
                return EXIT_TRANSPORT;
            }
            try (admin) {
                if (agentOptions != null) {
                    warnIfOffline(admin, agentOptions, wait);
                }
                return run(admin);
            } catch (StatusRuntimeException e) {
                return failed(admin, e);
            }
        }

        /** Says at once when the named agent is offline, and how long the command will wait for it. */
        private void warnIfOffline(AdminConnection admin, AdminOptions opts, Duration wait) {
            if (opts.agent.isEmpty()) {
                return;
            }
            admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList().stream()
                    .filter(a -> a.getAgentId().equals(opts.agent) && !a.getConnected()).findFirst()
                    .ifPresent(a -> out().errln("agent " + opts.agent + " is offline; "
                            + (wait.isZero() ? "not waiting for it (--wait 0s)" : "waiting up to " + opts.wait + " for it to connect (--wait)")));
        }

        /** One line naming what failed, and an exit status that tells a refusal from a transport failure. */
        private int failed(AdminConnection admin, StatusRuntimeException e) {
            Status s = e.getStatus();
            Metadata trailers = Status.trailersFromThrowable(e);
            boolean answered = trailers != null && trailers.containsKey(AdminCalls.ORIGIN_TRAILER);
            if (answered || s.getCode() == Status.Code.UNAUTHENTICATED) {
                out().errln("error: " + (s.getDescription() != null ? s.getDescription() : s.getCode()));
                return EXIT_REFUSED;
            }
            String why = (s.getDescription() != null ? s.getDescription() : s.getCode().toString())
                    + (s.getCause() != null && s.getCause().getMessage() != null ? ": " + s.getCause().getMessage() : "");
            if (isConnectFailure(s.getCause())) {
                out().errln("error: cannot reach the control plane's admin API at " + admin.address + " (" + why
                        + "): is 'airlock cp serve' running for this --state-dir? Nothing was sent");
            } else {
                out().errln("error: the connection to the control plane at " + admin.address + " broke during the call (" + why
                        + "): the command may have run; check ('airlock cp ls', 'airlock cp events') before repeating it");
            }
            return EXIT_TRANSPORT;
        }

        private static boolean isConnectFailure(Throwable t) {
            for (; t != null; t = t.getCause()) {
                if (t instanceof ConnectException) {
                    return true;
                }
            }
            return false;
        }
    }
}
