package io.airlock.controlplane.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.admin.AdminCalls;
import io.airlock.controlplane.admin.AdminServer;
import io.airlock.controlplane.admin.AdminToken;
import io.airlock.controlplane.admin.v1.Agent;
import io.airlock.controlplane.admin.v1.AgentRef;
import io.airlock.controlplane.admin.v1.CopyInChunk;
import io.airlock.controlplane.admin.v1.CopyInHeader;
import io.airlock.controlplane.admin.v1.CopyOutChunk;
import io.airlock.controlplane.admin.v1.CopyOutRequest;
import io.airlock.controlplane.admin.v1.CreateJoinTokenRequest;
import io.airlock.controlplane.admin.v1.CreateJoinTokenResponse;
import io.airlock.controlplane.admin.v1.DeleteSnapshotRequest;
import io.airlock.controlplane.admin.v1.EventsResponse;
import io.airlock.controlplane.admin.v1.ExecEvent;
import io.airlock.controlplane.admin.v1.ExecRequest;
import io.airlock.controlplane.admin.v1.ListAgentsRequest;
import io.airlock.controlplane.admin.v1.ListAgentsResponse;
import io.airlock.controlplane.admin.v1.ListFilesRequest;
import io.airlock.controlplane.admin.v1.ProvisionRequest;
import io.airlock.controlplane.admin.v1.RecordedEvent;
import io.airlock.controlplane.admin.v1.SandboxRef;
import io.airlock.controlplane.admin.v1.SnapshotRequest;
import io.airlock.controlplane.admin.v1.StatRequest;
import io.airlock.controlplane.admin.v1.UpdateEgressRequest;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.controlplane.mcp.McpEndpoint;
import io.airlock.proto.v1.DeleteSnapshot;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.EgressRule;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ResourceLimits;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.SnapshotList;
import io.airlock.proto.v1.SnapshotSandbox;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.StatFile;
import io.airlock.proto.v1.UpdateEgress;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** {@code airlock cp}: the reference control plane and its admin CLI. */
@Command(name = "cp", mixinStandardHelpOptions = true,
        description = "Run the reference control plane, or drive agents connected to a running one.",
        footer = {"", ControlPlaneCommand.EXIT_HELP})
public final class ControlPlaneCommand {
    /** The subcommands, in the order --help lists them; {@link #commandLine} adds them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(Serve.class, Token.class, Agents.class, AuditAnchorCommand.class,
            Create.class, Egress.class, Ls.class, Rm.class, Pause.class, Resume.class, Exec.class,
            Copy.class, ListWorkspace.class, Stat.class, Snapshot.class, Snapshots.class, SnapshotRm.class, Events.class, Ca.class, Cert.class);

    /**
     * {@code airlock cp} for the arguments that follow it. Picocli reflects over every subcommand it
     * is given before it parses: arguments that name one get only that one (an admin command starts
     * about 60 ms sooner); anything else (--help, a typo) gets them all.
     */
    public static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new ControlPlaneCommand());
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

    /** Runs an admin call, turning a failure into one line on stderr and an exit status that says what kind it was. */
    @Command(footer = {"", EXIT_HELP})
    abstract static class ControlPlaneCall implements Callable<Integer> {
        abstract StateOptions options();

        abstract int run(AdminConnection admin) throws Exception;

        @Override
        public Integer call() throws Exception {
            AdminOptions agentOptions = options() instanceof AdminOptions a ? a : null;
            Duration wait = Duration.ZERO;
            try {
                if (agentOptions != null) {
                    wait = parseDuration(agentOptions.wait);
                }
            } catch (IllegalArgumentException e) {
                System.err.println("error: --wait: " + e.getMessage());
                return 2;
            }
            AdminConnection admin;
            try {
                admin = new AdminConnection(options().stateDir, wait);
            } catch (IOException e) {
                System.err.println("error: " + e.getMessage());
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
        private static void warnIfOffline(AdminConnection admin, AdminOptions opts, Duration wait) {
            if (opts.agent.isEmpty()) {
                return;
            }
            admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance()).getAgentsList().stream()
                    .filter(a -> a.getAgentId().equals(opts.agent) && !a.getConnected()).findFirst()
                    .ifPresent(a -> System.err.println("agent " + opts.agent + " is offline; "
                            + (wait.isZero() ? "not waiting for it (--wait 0s)" : "waiting up to " + opts.wait + " for it to connect (--wait)")));
        }

        /** One line naming what failed, and an exit status that tells a refusal from a transport failure. */
        private static int failed(AdminConnection admin, StatusRuntimeException e) {
            Status s = e.getStatus();
            Metadata trailers = Status.trailersFromThrowable(e);
            boolean answered = trailers != null && trailers.containsKey(AdminCalls.ORIGIN_TRAILER);
            if (answered || s.getCode() == Status.Code.UNAUTHENTICATED) {
                System.err.println("error: " + (s.getDescription() != null ? s.getDescription() : s.getCode()));
                return EXIT_REFUSED;
            }
            String why = (s.getDescription() != null ? s.getDescription() : s.getCode().toString())
                    + (s.getCause() != null && s.getCause().getMessage() != null ? ": " + s.getCause().getMessage() : "");
            if (isConnectFailure(s.getCause())) {
                System.err.println("error: cannot reach the control plane's admin API at " + admin.address + " (" + why
                        + "): is 'airlock cp serve' running for this --state-dir? Nothing was sent");
            } else {
                System.err.println("error: the connection to the control plane at " + admin.address + " broke during the call (" + why
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

    @Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the control plane until interrupted.")
    static final class Serve implements Callable<Integer> {
        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Option(names = "--listen", description = "Agent endpoint host:port (mTLS). Default: ${DEFAULT-VALUE}")
        String listen = "127.0.0.1:7443";

        @Option(names = "--advertise", description = "host:port agents dial, put in join tokens. Default: the --listen address")
        String advertise;

        @Option(names = "--admin-port", description = "Admin API port on 127.0.0.1 (0: any free port). Default: ${DEFAULT-VALUE}")
        int adminPort = 0;

        @Option(names = "--cert-validity", description = "Lifetime of agent certificates, e.g. 24h. Default: ${DEFAULT-VALUE}")
        String certValidity = "24h";

        @Option(names = "--mcp-port", description = {"Port on 127.0.0.1 of the MCP endpoint: every agent's private MCP servers at",
            "http://127.0.0.1:PORT/mcp/AGENT_ID/SERVER (Streamable HTTP, both MCP revisions; the admin token in Airlock-Admin-Token,",
            "leaving Authorization to a server's own OAuth token, or as Authorization: Bearer), and each server's OAuth metadata at",
            "/.well-known/oauth-protected-resource/mcp/AGENT_ID/SERVER. 0: any free port. Default: ${DEFAULT-VALUE}"})
        int mcpPort = 0;

        @Override
        public Integer call() throws Exception {
            bridgeJavaUtilLogging();
            int colon = listen.lastIndexOf(':');
            if (colon < 0) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--listen: '" + listen + "' (expected: host:port)");
            }
            ControlPlaneServer cp = ControlPlaneServer.start(new ControlPlaneServer.Options(stateDir, listen.substring(0, colon),
                    Integer.parseInt(listen.substring(colon + 1)), advertise, parseDuration(certValidity)));
            AdminServer admin = new AdminServer(cp, stateDir, adminPort);
            McpEndpoint mcp = McpEndpoint.start(cp.agents(),
                    new InetSocketAddress("127.0.0.1", mcpPort), AdminToken.read(stateDir));
            System.out.println("control plane on " + cp.address() + " (CA pin " + cp.ca().pin() + "), admin API on 127.0.0.1:" + admin.port());
            System.out.println("MCP endpoint: " + mcp.url("AGENT_ID", "SERVER") + " (Authorization: Bearer <the token in " + AdminToken.file(stateDir) + ">)");
            System.out.println("create a join token with: airlock cp token create --state-dir " + stateDir);
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                mcp.close();
                admin.close();
                cp.close();
                stop.countDown();
            }));
            stop.await();
            return 0;
        }
    }

    /**
     * grpc-java logs through java.util.logging, whose default handler prints raw lines on stderr
     * (an agent's oversized message, say): route it into the log, where io.grpc's level applies.
     */
    private static void bridgeJavaUtilLogging() {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }

    static Duration parseDuration(String s) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d)").matcher(s.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + s + "' is not a duration (expected: a number and a unit: ms, s, m, h, d)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    @Command(name = "ca", mixinStandardHelpOptions = true,
            description = {"Rotate the control plane's CA in three steps; each takes effect at the next 'cp serve' start.",
                "begin: make the next CA; both are trusted and handed to agents on enrolment and renewal.",
                "finish (once every agent renewed): the next CA signs; the old one stays trusted.",
                "retire (once the old CA's certificates expired): stop trusting the old CA."})
    static final class Ca implements Callable<Integer> {
        @CommandLine.Parameters(index = "0", description = "begin, finish or retire")
        String step;

        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Override
        public Integer call() throws Exception {
            switch (step) {
                case "begin" -> CertificateAuthority.beginRotation(stateDir);
                case "finish" -> CertificateAuthority.finishRotation(stateDir);
                case "retire" -> CertificateAuthority.retirePrevious(stateDir);
                default -> throw new CommandLine.ParameterException(new CommandLine(this),
                        "unknown step '" + step + "' (expected: begin, finish or retire)");
            }
            CertificateAuthority ca = CertificateAuthority.loadOrCreate(stateDir);
            System.out.println("CA rotation step '" + step + "' done; restart 'airlock cp serve' to apply it. Signing CA: "
                    + ca.certificate().getSubjectX500Principal().getName() + " (pin " + ca.pin() + "); trusted: " + ca.bundle().size());
            return 0;
        }
    }

    @Command(name = "cert", mixinStandardHelpOptions = true,
            description = "Server certificates from this control plane's CA, for another control plane that serves its agents.",
            subcommands = CertIssue.class)
    static final class Cert {}

    @Command(name = "issue", mixinStandardHelpOptions = true,
            description = {"Write a TLS server certificate signed by this control plane's CA (serverAuth, the names given as",
                "subject alternative names; the file holds the chain: the certificate, then the CA) and its key (0600).",
                "Agents enrolled here trust it; they check the names against the address they dial, and an enrolling agent",
                "finds the CA its join token pins in that chain. Reads the CA in --state-dir; starts nothing."})
    static final class CertIssue implements Callable<Integer> {
        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Option(names = "--san", required = true, paramLabel = "NAME",
                description = "A DNS name or IP address agents dial (repeat for more); the first is also the subject's CN")
        List<String> names;

        @Option(names = "--cert", required = true, paramLabel = "FILE", description = "Where to write the PEM chain")
        Path cert;

        @Option(names = "--key", required = true, paramLabel = "FILE", description = "Where to write the PEM key (mode 0600)")
        Path key;

        @Option(names = "--validity", paramLabel = "DURATION", description = "How long it is valid, e.g. 90d. Default: ${DEFAULT-VALUE}")
        String validity = "365d";

        @Override
        public Integer call() throws Exception {
            if (!Files.exists(stateDir.resolve("ca.crt"))) {
                System.err.println("error: no CA in " + stateDir + " (expected: the state directory of 'airlock cp serve'; give --state-dir)");
                return 2;
            }
            CertificateAuthority ca = CertificateAuthority.loadOrCreate(stateDir);
            CertificateAuthority.IssuedIdentity issued;
            try {
                issued = ca.issueServer(names, parseDuration(validity));
            } catch (IllegalStateException | IllegalArgumentException e) {
                System.err.println("error: cannot issue for " + names + ": " + e.getMessage() + " (expected: DNS names or IP addresses)");
                return 2;
            }
            CertificateAuthority.writePrivate(key, CertificateAuthority.toPem(new JcaPKCS8Generator(issued.key(), null)));
            Files.writeString(cert, CertificateAuthority.toPem(issued.chain().toArray()));
            System.out.println("wrote " + cert + " (names " + names + ", valid until " + issued.chain().get(0).getNotAfter().toInstant()
                    + ", CA pin " + ca.pin() + ") and its key " + key);
            return 0;
        }
    }

    @Command(name = "token", mixinStandardHelpOptions = true, description = "Join tokens.", subcommands = TokenCreate.class)
    static final class Token {}

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a one-time join token for 'airlock enroll'.")
    static final class TokenCreate extends StateCall {
        @Option(names = "--ttl", description = "How long the token stays valid, e.g. 15m. Default: ${DEFAULT-VALUE}")
        String ttl = "1h";

        @Option(names = "--out", description = "Write the token to this file (mode 0600) instead of stdout")
        Path out;

        @Override
        int run(AdminConnection admin) throws Exception {
            CreateJoinTokenResponse r = admin.blocking.createJoinToken(CreateJoinTokenRequest.newBuilder()
                    .setTtlSeconds(parseDuration(ttl).toSeconds()).build());
            if (out != null) {
                CertificateAuthority.writePrivate(out, r.getToken() + "\n");
                System.err.println("join token written to " + out + ", valid until " + Instant.ofEpochMilli(r.getExpiresAtMs()));
            } else {
                System.out.println(r.getToken());
            }
            return 0;
        }
    }

    @Command(name = "agents", mixinStandardHelpOptions = true, description = "List agents that have connected.")
    static final class Agents extends StateCall {
        @Override
        int run(AdminConnection admin) {
            ListAgentsResponse r = admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance());
            if (opts.json) {
                System.out.println(json(r));
                return 0;
            }
            System.out.printf("%-22s %-10s %-8s %-9s %-10s %s%n", "AGENT", "STATE", "VERSION", "SANDBOXES", "AUDIT SEQ", "DRIVERS");
            for (Agent a : r.getAgentsList()) {
                System.out.printf("%-22s %-10s %-8s %-9d %-10s %s%n", a.getAgentId(),
                        a.getDraining() ? "draining" : a.getConnected() ? "connected" : "offline", a.getHello().getVersion(),
                        a.getLiveSandboxes(), a.hasAuditAnchor() ? a.getAuditAnchor().getSeq() + (a.getAuditWarning().isEmpty() ? "" : "!") : "-",
                        String.join(",", a.getHello().getDriversList().stream().map(d -> d.getName()).toList()));
            }
            for (Agent a : r.getAgentsList()) {
                if (!a.getAuditWarning().isEmpty()) {
                    System.out.println("warning: " + a.getAgentId() + ": " + a.getAuditWarning());
                }
            }
            return 0;
        }
    }

    @Command(name = "audit-anchor", mixinStandardHelpOptions = true,
            description = {"Print the agent's audit anchor as SEQ:HASH: the newest record it reported on disk, kept here.",
                "On the agent's host, 'airlock audit verify --anchor SEQ:HASH' fails when its log no longer reaches it",
                "(records cut and an older sealed head put back: a rollback no local check can see).",
                "Exits 1 when the agent has reported none yet."})
    static final class AuditAnchorCommand extends AdminCall {
        @Parameters(index = "0", arity = "0..1", description = "Agent id; default: --agent, else the only connected agent")
        String agent;

        @Override
        int run(AdminConnection admin) {
            String id = agent != null ? agent : opts.agent;
            ListAgentsResponse r = admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance());
            List<Agent> matches = r.getAgentsList().stream()
                    .filter(a -> id.isEmpty() ? a.getConnected() : a.getAgentId().equals(id)).toList();
            if (matches.size() != 1) {
                System.err.println("error: " + (id.isEmpty() ? matches.size() + " agents are connected: name one" : "no agent " + id + " has connected"));
                return 1;
            }
            Agent a = matches.getFirst();
            if (!a.hasAuditAnchor()) {
                System.err.println("error: agent " + a.getAgentId() + " has reported no audit anchor yet (it does on connecting and with every ping)");
                return 1;
            }
            if (opts.json) {
                System.out.println(json(a.getAuditAnchor()));
            } else {
                System.out.println(a.getAuditAnchor().getSeq() + ":" + a.getAuditAnchor().getSha256());
            }
            if (!a.getAuditWarning().isEmpty()) {
                System.err.println("warning: " + a.getAuditWarning());
            }
            return 0;
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Provision a sandbox (idempotent on its id).")
    static final class Create extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id: 1-63 of [a-z0-9-]")
        String id;

        @Option(names = "--driver", description = "Driver; default: the agent's default")
        String driver = "";

        @Option(names = "--memory", converter = SizeConverter.class, description = "Memory limit, e.g. 512MiB or 2GB; 0: policy default")
        long memory;

        @Option(names = "--workspace-size", converter = SizeConverter.class,
                description = "Workspace size limit, e.g. 1GiB (drivers that can: docker); 0: policy default")
        long workspace;

        @Option(names = "--image", description = "Image (drivers with images: docker); default: the driver's")
        String image = "";

        @Option(names = "--snapshot", description = "Start from this snapshot of the agent (see 'cp snapshot'), on the driver that holds it")
        String snapshot = "";

        @Option(names = "--template", description = "One of the driver's configured templates (docker: image, runtime, warm pool)")
        String template = "";

        @Option(names = "--env", description = "Environment for every process, KEY=VALUE (repeatable)")
        Map<String, String> env = Map.of();

        @Option(names = "--egress", paramLabel = "RULE", converter = EgressRuleConverter.class,
                description = {"Allow the sandbox to reach this (repeatable): NAME_OR_CIDR[:PORT[,PORT...]], e.g. pypi.org:443,",
                    "*.pypi.org, 10.20.0.0/16:5432, [fd00::/8]:443. Within the agent's policy.egress; none: it reaches nothing"})
        List<EgressRule> egress = List.of();

        @Override
        int run(AdminConnection admin) {
            ProvisionSandbox.Builder sandbox = ProvisionSandbox.newBuilder().setSandboxId(id).setDriver(driver).putAllEnv(env).setImage(image)
                    .setSnapshot(snapshot).setTemplate(template)
                    .setLimits(ResourceLimits.newBuilder().setMemoryBytes(memory).setWorkspaceBytes(workspace));
            if (!egress.isEmpty()) {
                sandbox.setEgress(EgressPolicy.newBuilder().addAllRules(egress));
            }
            SandboxInfo s = admin.blocking.provision(ProvisionRequest.newBuilder().setAgentId(opts.agent).setSandbox(sandbox).build());
            System.out.println(opts.json ? json(s) : s.getSandboxId() + " " + s.getState() + " (" + s.getDriver() + ")");
            return 0;
        }
    }

    @Command(name = "egress", mixinStandardHelpOptions = true, description = "Show or replace a sandbox's egress allowlist.",
            subcommands = {EgressShow.class, EgressSet.class})
    static final class Egress {
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Print a sandbox's egress rules, one per line.")
    static final class EgressShow extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Override
        int run(AdminConnection admin) {
            SandboxInfo s = admin.blocking.listSandboxes(AgentRef.newBuilder().setAgentId(opts.agent).build()).getSandboxesList().stream()
                    .filter(x -> x.getSandboxId().equals(id)).findFirst().orElse(null);
            if (s == null) {
                System.err.println("error: no sandbox " + id + " on this agent ('airlock cp ls' lists them)");
                return EXIT_REFUSED;
            }
            if (opts.json) {
                System.out.println(json(s.getEgress()));
            } else if (s.getEgress().getRulesCount() == 0) {
                System.out.println("(no rules: " + id + " reaches nothing)");
            } else {
                s.getEgress().getRulesList().forEach(r -> System.out.println(EgressRuleConverter.format(r)));
            }
            return 0;
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Replace a sandbox's egress allowlist: connections opened from now on are decided by the new rules;",
                "open ones run on. A rule wider than the agent's policy.egress is refused, and the old rules stay."})
    static final class EgressSet extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        // Strings, converted in run(): picocli reports a positional value it cannot convert as "Unmatched argument".
        @Parameters(index = "1..*", paramLabel = "RULE",
                description = "NAME_OR_CIDR[:PORT[,PORT...]] (e.g. pypi.org:443, 10.20.0.0/16:5432, [fd00::/8]:443); none: it reaches nothing")
        List<String> given = List.of();

        @Override
        int run(AdminConnection admin) {
            List<EgressRule> rules = new ArrayList<>();
            try {
                for (String g : given) {
                    rules.add(new EgressRuleConverter().convert(g));
                }
            } catch (CommandLine.TypeConversionException e) {
                System.err.println("error: " + e.getMessage());
                return 2;
            }
            SandboxInfo s = admin.blocking.updateEgress(UpdateEgressRequest.newBuilder().setAgentId(opts.agent)
                    .setUpdate(UpdateEgress.newBuilder().setSandboxId(id)
                            .setEgress(EgressPolicy.newBuilder().addAllRules(rules))).build());
            System.out.println(opts.json ? json(s) : id + ": " + (s.getEgress().getRulesCount() == 0 ? "reaches nothing"
                    : String.join(" ", s.getEgress().getRulesList().stream().map(EgressRuleConverter::format).toList())));
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List an agent's sandboxes.")
    static final class Ls extends AdminCall {
        @Override
        int run(AdminConnection admin) {
            SandboxList l = admin.blocking.listSandboxes(AgentRef.newBuilder().setAgentId(opts.agent).build());
            if (opts.json) {
                System.out.println(json(l));
                return 0;
            }
            System.out.printf("%-24s %-12s %-8s %s%n", "SANDBOX", "DRIVER", "STATE", "CREATED");
            for (SandboxInfo s : l.getSandboxesList()) {
                System.out.printf("%-24s %-12s %-8s %s%n", s.getSandboxId(), s.getDriver(), s.getState(), Instant.ofEpochMilli(s.getCreatedAtMs()));
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Destroy a sandbox (idempotent).")
    static final class Rm extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Override
        int run(AdminConnection admin) {
            admin.blocking.destroy(SandboxRef.newBuilder().setAgentId(opts.agent).setSandboxId(id).build());
            System.out.println(opts.json ? "{\"destroyed\":\"" + id + "\"}" : id + " destroyed");
            return 0;
        }
    }

    /** pause and resume differ only in the call they make. */
    abstract static class PauseOrResume extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        abstract SandboxInfo call(AdminConnection admin, SandboxRef ref);

        @Override
        int run(AdminConnection admin) {
            SandboxInfo s = call(admin, SandboxRef.newBuilder().setAgentId(opts.agent).setSandboxId(id).build());
            System.out.println(opts.json ? json(s) : s.getSandboxId() + " " + s.getState());
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Freeze a sandbox's processes (drivers that can: docker).")
    static final class Pause extends PauseOrResume {
        @Override
        SandboxInfo call(AdminConnection admin, SandboxRef ref) {
            return admin.blocking.pause(ref);
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Thaw a paused sandbox.")
    static final class Resume extends PauseOrResume {
        @Override
        SandboxInfo call(AdminConnection admin, SandboxRef ref) {
            return admin.blocking.resume(ref);
        }
    }

    @Command(name = "exec", mixinStandardHelpOptions = true,
            description = "Run a command in a sandbox, streaming its output; exits with the command's exit code.")
    static final class Exec extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1..*", arity = "1..*", description = "Command and arguments (put -- before them)")
        List<String> argv = new ArrayList<>();

        @Option(names = "--stdin", description = "Send this terminal's stdin (up to 4 MiB) to the command")
        boolean stdin;

        @Option(names = "--cwd", description = "Working directory relative to the workspace")
        String cwd = "";

        @Option(names = "--timeout", description = "Kill the command after this long, e.g. 30s; default: the agent's policy")
        String timeout;

        @Override
        int run(AdminConnection admin) throws Exception {
            ExecRequest.Builder req = ExecRequest.newBuilder().setAgentId(opts.agent)
                    .setExec(StartExec.newBuilder().setSandboxId(id).addAllArgv(argv).setWorkingDir(cwd)
                            .setTimeoutMs(timeout == null ? 0 : parseDuration(timeout).toMillis()));
            if (stdin) {
                req.setStdin(ByteString.readFrom(System.in));
            }
            ExecResult result = null;
            Iterator<ExecEvent> events = admin.blocking.exec(req.build());
            while (events.hasNext()) {
                ExecEvent e = events.next();
                if (e.hasOutput()) {
                    if (opts.json) {
                        System.out.println(json(e));
                    } else {
                        var target = e.getOutput().getStream() == OutputStream.STDERR ? System.err : System.out;
                        e.getOutput().getData().writeTo(target);
                        target.flush();
                    }
                } else if (e.hasResult()) {
                    result = e.getResult();
                }
            }
            if (result == null) {
                System.err.println("error: the exec ended without a result");
                return 1;
            }
            if (opts.json) {
                System.out.println(json(result));
            } else if (result.getTimedOut() || result.getOutputTruncated()) {
                System.err.println("[" + (result.getTimedOut() ? "timed out" : "") + (result.getTimedOut() && result.getOutputTruncated() ? ", " : "")
                        + (result.getOutputTruncated() ? "output truncated" : "") + "]");
            }
            return result.getExitCode();
        }
    }

    @Command(name = "cp", mixinStandardHelpOptions = true,
            description = {"Copy a file into or out of a sandbox: 'cp LOCAL SANDBOX:PATH' or 'cp SANDBOX:PATH LOCAL'.",
                "With --tar, LOCAL is a tar archive: extracted into directory SANDBOX:PATH, or written from a file or directory there."})
    static final class Copy extends AdminCall {
        @Option(names = "--tar", description = "Move a tar archive (e.g. 'tar -C dir -cf dir.tar .' locally, then 'cp --tar dir.tar box:dest')")
        boolean tar;

        @Parameters(index = "0", description = "Source")
        String from;

        @Parameters(index = "1", description = "Destination")
        String to;

        @Override
        int run(AdminConnection admin) throws Exception {
            boolean upload = to.contains(":") && !from.contains(":");
            boolean download = from.contains(":") && !to.contains(":");
            if (!upload && !download) {
                System.err.println("error: exactly one of source and destination must be SANDBOX:PATH");
                return 2;
            }
            FileResult r = upload ? upload(admin, Path.of(from), to.substring(0, to.indexOf(':')), to.substring(to.indexOf(':') + 1))
                    : download(admin, from.substring(0, from.indexOf(':')), from.substring(from.indexOf(':') + 1), Path.of(to));
            System.out.println(opts.json ? json(r) : r.getPath() + ": " + r.getSize() + " bytes, sha256 " + r.getSha256());
            return 0;
        }

        private FileResult upload(AdminConnection admin, Path local, String sandbox, String path) throws Exception {
            CompletableFuture<FileResult> result = new CompletableFuture<>();
            StreamObserver<CopyInChunk> out = admin.async.copyIn(new StreamObserver<>() {
                @Override
                public void onNext(FileResult r) {
                    result.complete(r);
                }

                @Override
                public void onError(Throwable t) {
                    result.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {}
            });
            out.onNext(CopyInChunk.newBuilder().setHeader(CopyInHeader.newBuilder().setAgentId(opts.agent).setSandboxId(sandbox).setPath(path)
                    .setArchive(tar)).build());
            try (InputStream in = Files.newInputStream(local)) {
                byte[] buf = new byte[32 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.onNext(CopyInChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
                }
            }
            out.onCompleted();
            try {
                return result.get(15, TimeUnit.MINUTES);
            } catch (ExecutionException e) {
                throw e.getCause() instanceof StatusRuntimeException s ? s : new IllegalStateException(e.getCause());
            }
        }

        private FileResult download(AdminConnection admin, String sandbox, String path, Path local) throws Exception {
            FileResult result = null;
            Path part = local.resolveSibling(local.getFileName() + ".part");
            try (var out = Files.newOutputStream(part)) {
                Iterator<CopyOutChunk> chunks = admin.blocking.copyOut(CopyOutRequest.newBuilder().setAgentId(opts.agent)
                        .setSandboxId(sandbox).setPath(path).setArchive(tar).build());
                while (chunks.hasNext()) {
                    CopyOutChunk c = chunks.next();
                    if (c.hasResult()) {
                        result = c.getResult();
                    } else {
                        c.getData().writeTo(out);
                    }
                }
            } catch (RuntimeException e) {
                Files.deleteIfExists(part);
                throw e;
            }
            Files.move(part, local, StandardCopyOption.REPLACE_EXISTING);
            return result;
        }
    }

    @Command(name = "files", mixinStandardHelpOptions = true, description = "List files in a sandbox's workspace.")
    static final class ListWorkspace extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", arity = "0..1", description = "Directory relative to the workspace")
        String path = "";

        @Option(names = {"-r", "--recursive"}, description = "Descend into directories")
        boolean recursive;

        @Override
        int run(AdminConnection admin) {
            FileList l = admin.blocking.listFiles(ListFilesRequest.newBuilder().setAgentId(opts.agent)
                    .setList(ListFiles.newBuilder().setSandboxId(id).setPath(path).setRecursive(recursive)).build());
            if (opts.json) {
                System.out.println(json(l));
                return 0;
            }
            for (FileEntry e : l.getEntriesList()) {
                System.out.printf("%-9s %10d  %s%n", e.getType(), e.getSize(), e.getPath());
            }
            return 0;
        }
    }

    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Type, size and modification time of a workspace path.")
    static final class Stat extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", description = "Path relative to the workspace")
        String path;

        @Override
        int run(AdminConnection admin) {
            FileEntry e = admin.blocking.stat(StatRequest.newBuilder().setAgentId(opts.agent)
                    .setStat(StatFile.newBuilder().setSandboxId(id).setPath(path)).build());
            System.out.println(opts.json ? json(e) : String.format("%-9s %10d  %s  %s", e.getType(), e.getSize(),
                    Instant.ofEpochMilli(e.getModifiedAtMs()), e.getPath()));
            return 0;
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Save a sandbox as a named snapshot (drivers that can: docker); 'cp create ID --snapshot NAME' starts from it.")
    static final class Snapshot extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", description = "Snapshot name: 1-63 of [a-z0-9-]")
        String name;

        @Override
        int run(AdminConnection admin) {
            var s = admin.blocking.snapshot(SnapshotRequest.newBuilder().setAgentId(opts.agent)
                    .setSnapshot(SnapshotSandbox.newBuilder().setSandboxId(id).setName(name)).build());
            System.out.println(opts.json ? json(s) : s.getName() + " of " + s.getSourceSandboxId() + ": " + s.getSizeBytes() + " bytes");
            return 0;
        }
    }

    @Command(name = "snapshots", mixinStandardHelpOptions = true, description = "List an agent's snapshots, of every driver that takes them.")
    static final class Snapshots extends AdminCall {
        @Option(names = "--driver", description = "Only this driver's snapshots")
        String driver = "";

        @Override
        int run(AdminConnection admin) {
            var all = admin.blocking.listSnapshots(AgentRef.newBuilder().setAgentId(opts.agent).build());
            var l = SnapshotList.newBuilder().addAllSnapshots(all.getSnapshotsList().stream()
                    .filter(s -> driver.isEmpty() || s.getDriver().equals(driver)).toList()).build();
            if (opts.json) {
                System.out.println(json(l));
                return 0;
            }
            System.out.printf("%-24s %-10s %-24s %12s %s%n", "SNAPSHOT", "DRIVER", "FROM", "BYTES", "CREATED");
            for (var s : l.getSnapshotsList()) {
                System.out.printf("%-24s %-10s %-24s %12d %s%n", s.getName(), s.getDriver(), s.getSourceSandboxId(), s.getSizeBytes(),
                        Instant.ofEpochMilli(s.getCreatedAtMs()));
            }
            return 0;
        }
    }

    @Command(name = "snapshot-rm", mixinStandardHelpOptions = true, description = "Delete a snapshot (idempotent; refused while a sandbox uses it).")
    static final class SnapshotRm extends AdminCall {
        @Parameters(index = "0", description = "Snapshot name")
        String name;

        @Option(names = "--driver", description = "The driver holding it; default: the one whose snapshots include NAME")
        String driver = "";

        @Override
        int run(AdminConnection admin) {
            admin.blocking.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setAgentId(opts.agent)
                    .setSnapshot(DeleteSnapshot.newBuilder().setName(name).setDriver(driver)).build());
            System.out.println(name + " deleted");
            return 0;
        }
    }

    @Command(name = "events", mixinStandardHelpOptions = true, description = "Show what the control plane recorded for an agent.")
    static final class Events extends AdminCall {
        @Override
        int run(AdminConnection admin) {
            EventsResponse r = admin.blocking.events(AgentRef.newBuilder().setAgentId(opts.agent).build());
            if (opts.json) {
                System.out.println(json(r));
                return 0;
            }
            for (RecordedEvent e : r.getEventsList()) {
                System.out.printf("%s %-12s %s%n", Instant.ofEpochMilli(e.getAtMs()), e.getKind(), e.getDetail());
            }
            return 0;
        }
    }
}
