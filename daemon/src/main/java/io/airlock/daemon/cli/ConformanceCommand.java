package io.airlock.daemon.cli;

import io.airlock.connector.grpc.conformance.Conformance;
import io.airlock.connector.grpc.conformance.Verdict;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.connector.grpc.identity.LiveCredentials;
import io.airlock.notation.Durations;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code airlock conformance}: checks a control plane against the airlock.v1 rules an agent can observe. */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = {"Act as a scripted agent against a control plane; report PASS, FAIL or",
            "NOT_RUN per airlock.v1 rule: Hello before anything, the Hello's agent id",
            "checked, Welcome first, Pong echoing 64-bit and negative nonces, a result",
            "for an unknown command ignored, 4 MiB messages taken and larger ones",
            "refused, Data streams that must open with DataOpen for a known command, a",
            "reconnect welcomed again; with --wait-for-commands, the Data stream",
            "lifecycle of a read_file the control plane sends. See docs/protocol.md,",
            "'Implementing a control plane'.",
            "Exit status: 0 when no rule failed, 1 when one did, 2 on bad usage or when",
            "it cannot enrol or connect."})
public final class ConformanceCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--control-plane", required = true, paramLabel = "HOST:PORT",
            description = "The control plane's AgentGateway address (the same CA must have issued its certificate and the agent's)")
    String address;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Identity identity;

    static final class Identity {
        @Option(names = "--token-file", paramLabel = "FILE",
                description = "A join token ('-' for stdin): enrol a throwaway agent for this run (its files are removed after)")
        String tokenFile;

        @Option(names = "--state-dir", paramLabel = "DIR", description = "Use the identity an earlier 'airlock enroll' stored here")
        Path stateDir;
    }

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "How long each rule waits for the control plane. Default: ${DEFAULT-VALUE}")
    String timeout;

    @Option(names = "--wait-for-commands", paramLabel = "DURATION", defaultValue = "0s",
            description = "Stay connected this long for a read_file command from the control plane, to check the Data stream "
                    + "lifecycle (send one from the control plane during the run). Default: ${DEFAULT-VALUE} (not checked)")
    String waitForCommands;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Duration perRule;
        Duration waitFor;
        try {
            perRule = Durations.parse(timeout);
            waitFor = Durations.parse(waitForCommands);
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            return 2;
        }
        Path throwaway = null;
        try {
            AgentIdentity agent;
            if (identity.stateDir != null) {
                if (!AgentIdentity.exists(identity.stateDir)) {
                    err.println("error: " + identity.stateDir + " holds no enrolled identity (expected: a state directory "
                            + "'airlock enroll' wrote, or use --token-file)");
                    return 2;
                }
                agent = AgentIdentity.load(identity.stateDir);
            } else {
                String token = identity.tokenFile.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
                        : EnrollCommand.readToken(Path.of(identity.tokenFile));
                if (token == null) {
                    return 2;
                }
                throwaway = Files.createTempDirectory("airlock-conformance-");
                agent = new Enroller(Clock.systemUTC()).enroll(token, throwaway, "airlock-conformance");
                out.println("enrolled a throwaway agent " + agent.agentId());
            }
            LiveCredentials credentials = new LiveCredentials(agent);
            List<Verdict> verdicts;
            try {
                verdicts = new Conformance(agent, () -> channel(credentials), perRule, waitFor).run();
            } catch (Conformance.Unreachable e) {
                err.println("error: " + address + ": " + e.getMessage() + " (check the address, and that the control plane's CA issued "
                        + "this agent's certificate)");
                return 2;
            }
            verdicts.forEach(out::println);
            long failed = verdicts.stream().filter(v -> v.outcome() == Verdict.Outcome.FAIL).count();
            out.println(failed == 0 ? "conformance: no rule failed (" + verdicts.size() + " checked) against " + address
                    : "conformance: " + failed + " of " + verdicts.size() + " rules FAILED against " + address);
            return failed == 0 ? 0 : 1;
        } finally {
            if (throwaway != null) {
                removeTree(throwaway, err);
            }
        }
    }

    private ManagedChannel channel(LiveCredentials credentials) {
        return NettyChannelBuilder.forTarget(address).sslContext(credentials.tls()).maxInboundMessageSize(4 << 20).build();
    }

    private static void removeTree(Path dir, PrintWriter err) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            err.println("warning: could not remove the throwaway identity in " + dir + ": " + e.getMessage());
        }
    }
}
