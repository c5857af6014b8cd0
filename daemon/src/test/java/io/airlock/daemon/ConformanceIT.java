package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.cli.ControlPlaneCommand;
import io.airlock.controlplane.gateway.AgentGatewayService;
import io.airlock.controlplane.gateway.AgentRegistry;
import io.airlock.controlplane.gateway.AuditAnchors;
import io.airlock.controlplane.gateway.ClientIdentity;
import io.airlock.daemon.cli.ConformanceCommand;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.Pong;
import io.airlock.proto.v1.ReadFile;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code airlock conformance} against the reference control plane (every rule passes, the Data
 * stream lifecycle included, driven by a real read_file) and against a control plane that keeps
 * Pong nonces in a double (the named rule fails, the others still pass).
 */
class ConformanceIT {
    @TempDir
    Path dir;

    private record Run(int exit, String out) {}

    private static Run conformance(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new ConformanceCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(out, true));
        int exit = cli.execute(args);
        return new Run(exit, out.toString());
    }

    @Test
    void theReferenceControlPlanePassesEveryRule() throws Exception {
        try (ControlPlaneServer cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), AgentFixture.freePort()))) {
            Path token = dir.resolve("token");
            Files.writeString(token, cp.createJoinToken(Duration.ofMinutes(5)).encode());
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
            CompletableFuture<Run> run = CompletableFuture.supplyAsync(() -> conformance("--control-plane", cp.address(),
                    "--token-file", token.toString(), "--timeout", "5s", "--wait-for-commands", "60s"));
            // The conformance agent's main session: send it a read_file, as an operator would during the run.
            String agentId = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (agentId == null && System.nanoTime() < deadline && !run.isDone()) {
                agentId = cp.registry().agents().stream().filter(AgentRegistry.AgentView::connected).map(AgentRegistry.AgentView::agentId)
                        .findFirst().orElse(null);
                Thread.sleep(50);
            }
            assertTrue(agentId != null, "the conformance agent never connected: " + (run.isDone() ? run.join().out() : "still running"));
            ByteArrayOutputStream content = new ByteArrayOutputStream();
            FileResult file = cp.agents().readFile(agentId, ReadFile.newBuilder().setSandboxId("any").setPath("a.txt").build(), content,
                    Duration.ofSeconds(30));
            assertEquals("airlock conformance\n", content.toString(StandardCharsets.UTF_8));
            assertEquals(20, file.getSize());
            Run r = run.get(120, TimeUnit.SECONDS);
            assertEquals(0, r.exit(), r.out());
            for (String rule : List.of("hello-before-anything", "hello-agent-id-checked", "data-open-first", "data-unknown-command",
                    "welcome-first", "pong-echoes-64-bit-nonce", "pong-echoes-negative-nonce", "unknown-result-ignored",
                    "accepts-4-mib-messages", "data-stream-lifecycle", "reconnect-welcomed", "refuses-over-4-mib")) {
                assertTrue(r.out().lines().anyMatch(l -> l.startsWith("PASS") && l.contains(" " + rule + " ")), rule + " in\n" + r.out());
            }
            assertTrue(r.out().contains("no rule failed (12 checked)"), r.out());
        }
    }

    @Test
    void aControlPlaneThatLosesNonceBitsFailsThatRuleByName() throws Exception {
        try (ControlPlaneServer cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), AgentFixture.freePort()))) {
            Path state = dir.resolve("agent");
            AgentIdentity agent = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), state, "conf");
            // Another control plane on the same CA (its certificate from 'airlock cp cert issue'), which answers
            // pings the way a JSON/JavaScript one would.
            Path cert = dir.resolve("server.pem");
            Path key = dir.resolve("server.key");
            StringWriter issueOut = new StringWriter();
            CommandLine issue = ControlPlaneCommand.commandLine("cert", "issue");
            issue.setOut(new PrintWriter(issueOut, true));
            assertEquals(0, issue.execute("cert", "issue", "--state-dir", dir.resolve("cp").toString(), "--san", "127.0.0.1",
                    "--san", "localhost", "--cert", cert.toString(), "--key", key.toString(), "--validity", "1d"), issueOut.toString());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
            AgentRegistry registry = new AgentRegistry(new AuditAnchors(dir.resolve("broken-anchors")));
            Server broken = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(cert.toFile(), key.toFile())
                            .trustManager(cp.ca().bundle().toArray(X509Certificate[]::new)).clientAuth(ClientAuth.OPTIONAL)).build())
                    .addService(ServerInterceptors.intercept(new AgentGatewayService(registry), new NoncesAsDoubles(), new ClientIdentity()))
                    .maxInboundMessageSize(4 << 20)
                    .build().start();
            int brokenPort = broken.getPort();
            try {
                Run r = conformance("--control-plane", "127.0.0.1:" + brokenPort, "--state-dir", state.toString(), "--timeout", "5s");
                assertEquals(1, r.exit(), r.out());
                assertTrue(r.out().lines().anyMatch(l -> l.startsWith("FAIL") && l.contains(" pong-echoes-64-bit-nonce ")
                        && l.contains("came back as")), r.out());
                assertTrue(r.out().lines().anyMatch(l -> l.startsWith("PASS") && l.contains(" pong-echoes-negative-nonce ")), r.out());
                assertTrue(r.out().lines().anyMatch(l -> l.startsWith("NOT_RUN") && l.contains(" data-stream-lifecycle ")), r.out());
                assertTrue(r.out().contains("1 of 12 rules FAILED"), r.out());
                assertTrue(agent.agentId().startsWith("ag-"), agent.agentId());
            } finally {
                broken.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
                registry.close();
            }
            // Nothing listens there now: no rule is judged (a refused connection is no control plane's error).
            Run gone = conformance("--control-plane", "127.0.0.1:" + brokenPort, "--state-dir", state.toString(), "--timeout", "5s");
            assertEquals(2, gone.exit(), gone.out());
            assertTrue(gone.out().contains("cannot reach the control plane's AgentGateway: UNAVAILABLE"), gone.out());
            assertTrue(gone.out().lines().noneMatch(l -> l.startsWith("PASS")), gone.out());
        }
    }

    /** Sends every Pong's nonce through a double, as a control plane that parses int64 into a JavaScript number would. */
    private static final class NoncesAsDoubles implements ServerInterceptor {
        @Override
        public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
                @Override
                @SuppressWarnings("unchecked")
                public void sendMessage(R message) {
                    if (message instanceof ControlPlaneMessage m && m.hasPong()) {
                        message = (R) m.toBuilder().setPong(Pong.newBuilder().setNonce((long) (double) m.getPong().getNonce())).build();
                    }
                    super.sendMessage(message);
                }
            }, headers);
        }
    }
}
