package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.controlplane.gateway.ExecControl;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ReadFile;
import io.airlock.proto.v1.ResourceLimits;
import io.airlock.proto.v1.Signal;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.WriteFile;
import io.airlock.proto.v1.WriteArchive;
import io.airlock.proto.v1.ReadArchive;
import io.airlock.proto.v1.StatFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exec and files driven from the control plane, through the daemon, into real bubblewrap sandboxes. */
class TunnelledSandboxIT {
    static final Duration T = Duration.ofSeconds(30);
    @TempDir
    static Path dir;
    static AgentFixture fx;
    static AgentClient agents;
    static String box;

    @BeforeAll
    static void start() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        agents = fx.cp.agents();
        box = agents.provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("tunnel-box").build(), T).getSandboxId();
    }

    @AfterAll
    static void stop() {
        fx.close();
    }

    record Out(String stdout, String stderr, List<OutputChunk> chunks, ExecResult result) {}

    static Out exec(StartExec.Builder exec, String stdin) {
        List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = agents.exec(fx.agentId, exec.setSandboxId(box).build(),
                stdin == null ? null : new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), chunks::add, T);
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        for (OutputChunk c : chunks) {
            (c.getStream() == OutputStream.STDOUT ? out : err).append(c.getData().toStringUtf8());
        }
        return new Out(out.toString(), err.toString(), chunks, r);
    }

    @Test
    void signalsTravelDownTheDataStreamAndABadOneIsAnsweredWithoutEndingTheExec() throws Exception {
        List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
        List<io.airlock.proto.v1.Error> refused = new CopyOnWriteArrayList<>();
        ExecControl control = new ExecControl(refused::add);
        var result = java.util.concurrent.CompletableFuture.supplyAsync(() -> agents.exec(fx.agentId, StartExec.newBuilder().setSandboxId(box)
                .addAllArgv(List.of("sh", "-c", "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 5' TERM; echo ready;"
                        + " while :; do sleep 0.1; done")).build(), null, chunks::add, control, T));
        awaitStdout(chunks, "ready");
        control.resize(80, 24);  // bubblewrap runs no terminals: refused, and the exec goes on
        control.signal(Signal.SIGUSR1);
        awaitStdout(chunks, "got-usr1");
        control.signal(Signal.SIGTERM);
        ExecResult r = result.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(5, r.getExitCode());
        assertEquals(1, refused.size(), refused.toString());
        assertEquals(ErrorCode.FAILED_PRECONDITION, refused.get(0).getCode());
        assertTrue(refused.get(0).getMessage().contains("no terminal"), refused.get(0).getMessage());
        assertThrows(IllegalArgumentException.class, () -> control.signal(Signal.SIGNAL_UNSPECIFIED));
    }

    @Test
    void aTerminalOnADriverWithoutTerminalsIsRefusedByName() {
        CommandFailedException e = assertThrows(CommandFailedException.class,
                () -> exec(StartExec.newBuilder().addArgv("true").setTty(true), null));
        assertEquals(ErrorCode.UNIMPLEMENTED, e.error().getCode());
        assertTrue(e.getMessage().contains("terminal"), e.getMessage());
    }

    private static void awaitStdout(List<OutputChunk> chunks, String expected) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (chunks.stream().map(c -> c.getData().toStringUtf8()).reduce("", String::concat).indexOf(expected) < 0) {
            assertTrue(System.nanoTime() < deadline, "no '" + expected + "' in " + chunks);
            Thread.sleep(20);
        }
    }

    @Test
    void anArchiveGoesInAndComesBackOutAndStatSeesIt() throws Exception {
        byte[] tar = io.airlock.driver.Tars.bytes(io.airlock.driver.Tars.dir("proj/"),
                io.airlock.driver.Tars.file("proj/readme.md", "# hello\n", 0644), io.airlock.driver.Tars.symlink("proj/me", "readme.md"));
        FileResult in = agents.writeArchive(fx.agentId, WriteArchive.newBuilder().setSandboxId(box).setPath("arch").build(),
                new ByteArrayInputStream(tar), T);
        assertEquals(3, in.getEntries());
        assertEquals(tar.length, in.getSize());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar)), in.getSha256());

        var stat = agents.stat(fx.agentId, StatFile.newBuilder().setSandboxId(box).setPath("arch/proj/readme.md").build(), T);
        assertEquals(io.airlock.proto.v1.FileType.REGULAR, stat.getType());
        assertEquals(8, stat.getSize());
        assertEquals(io.airlock.proto.v1.FileType.SYMLINK,
                agents.stat(fx.agentId, StatFile.newBuilder().setSandboxId(box).setPath("arch/proj/me").build(), T).getType());
        CommandFailedException missing = assertThrows(CommandFailedException.class,
                () -> agents.stat(fx.agentId, StatFile.newBuilder().setSandboxId(box).setPath("arch/nope").build(), T));
        assertEquals(ErrorCode.NOT_FOUND, missing.error().getCode());

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FileResult back = agents.readArchive(fx.agentId, ReadArchive.newBuilder().setSandboxId(box).setPath("arch/proj").build(), out, T);
        assertEquals(out.size(), back.getSize());
        var entries = io.airlock.driver.Tars.read(new ByteArrayInputStream(out.toByteArray()));
        assertEquals("# hello\n", entries.get("proj/readme.md"), entries.toString());
        assertEquals("-> readme.md", entries.get("proj/me"));
    }

    @Test
    void aHostileArchiveIsRefusedNamingTheEntry() throws Exception {
        byte[] tar = io.airlock.driver.Tars.bytes(io.airlock.driver.Tars.file("ok.txt", "fine", 0644),
                io.airlock.driver.Tars.file("../../escape.txt", "evil", 0644));
        CommandFailedException e = assertThrows(CommandFailedException.class, () -> agents.writeArchive(fx.agentId,
                WriteArchive.newBuilder().setSandboxId(box).setPath("hostile").build(), new ByteArrayInputStream(tar), T));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.error().getCode());
        assertTrue(e.getMessage().contains("'../../escape.txt'"), e.getMessage());
        // The agent is fine afterwards.
        assertEquals(0, exec(StartExec.newBuilder().addArgv("true"), null).result().getExitCode());
    }

    @Test
    void everyCommandAndItsOutcomeIsInTheAuditLogWhichVerifies() throws Exception {
        exec(StartExec.newBuilder().addAllArgv(List.of("sh", "-c", "exit 4")).putEnv("TOKEN", "s3cret"), null);
        assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId,
                ProvisionSandbox.newBuilder().setSandboxId("audited-denial").setLimits(ResourceLimits.newBuilder().setMemoryBytes(1L << 41)).build(), T));
        Path auditDir = dir.resolve("agent").resolve("audit");
        List<com.fasterxml.jackson.databind.JsonNode> records = new CopyOnWriteArrayList<>();
        var result = io.airlock.core.audit.AuditVerifier.verify(auditDir, r -> records.add(r.record()));
        assertTrue(result.ok(), result.problem());
        var command = records.stream().filter(r -> r.path("type").asText().equals("command") && r.path("argv").toString().contains("exit 4"))
                .findFirst().orElseThrow(() -> new AssertionError("no command record for the exec in " + records));
        assertEquals(box, command.path("sandbox_id").asText());
        assertTrue(command.path("env").path("TOKEN").asText().startsWith("hmac-sha256:"), "env values are hashed: " + command);
        assertFalse(command.toString().contains("s3cret"), "no secret in the log");
        String id = command.path("command_id").asText();
        var outcome = records.stream().filter(r -> r.path("type").asText().equals("command.result") && r.path("command_id").asText().equals(id))
                .findFirst().orElseThrow(() -> new AssertionError("no result record for " + id));
        assertEquals("OK", outcome.path("outcome").asText());
        assertEquals(4, outcome.path("exit_code").asInt());
        assertEquals(box, outcome.path("sandbox_id").asText(), "an exec's result names its sandbox (issue 17.6): " + outcome);
        assertTrue(records.stream().anyMatch(r -> r.path("type").asText().equals("policy.denied")
                && r.path("rule").asText().equals("policy.limits.max_memory")), "the denial has its own record");
        assertTrue(records.stream().anyMatch(r -> r.path("type").asText().equals("command.result")
                && r.path("outcome").asText().equals("POLICY_DENIED")));
        assertTrue(records.stream().anyMatch(r -> r.path("type").asText().equals("connection") && r.path("event").asText().equals("connected")));
        assertTrue(records.stream().anyMatch(r -> r.path("type").asText().equals("sandbox") && r.path("sandbox_id").asText().equals(box)));
    }

    @Test
    void stdinEndOfFileReachesCatThroughTheTunnel() {
        Out o = exec(StartExec.newBuilder().addArgv("cat"), "through the tunnel\n");
        assertEquals("through the tunnel\n", o.stdout());
        assertEquals(0, o.result().getExitCode());
    }

    @Test
    void stdoutAndStderrStaySeparateAndOrdered() {
        Out o = exec(StartExec.newBuilder().addAllArgv(List.of("sh", "-c", "for i in 1 2 3; do echo o$i; echo e$i >&2; sleep 0.05; done")), null);
        assertEquals("o1\no2\no3\n", o.stdout());
        assertEquals("e1\ne2\ne3\n", o.stderr());
        for (int i = 0; i < o.chunks().size(); i++) {
            assertEquals(i + 1, o.chunks().get(i).getSeq());
        }
    }

    @Test
    void aTimeoutKillsTheProcessAndSaysSo() {
        Out o = exec(StartExec.newBuilder().addAllArgv(List.of("sleep", "600")).setTimeoutMs(300), null);
        assertTrue(o.result().getTimedOut());
        assertTrue(o.result().getExitCode() != 0);
    }

    @Test
    void outputPastTheCapIsTruncatedAndFlagged() {
        Out o = exec(StartExec.newBuilder().addAllArgv(List.of("sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x")).setOutputCapBytes(5000), null);
        assertEquals(5000, o.stdout().length());
        assertTrue(o.result().getOutputTruncated());
        assertEquals(200000, o.result().getStdoutBytes());
    }

    @Test
    void aLargeFileRoundTripsWithItsDigest() throws Exception {
        byte[] content = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(content);
        FileResult written = agents.writeFile(fx.agentId, WriteFile.newBuilder().setSandboxId(box).setPath("data/blob.bin").build(),
                new ByteArrayInputStream(content), T);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        assertEquals(content.length, written.getSize());
        assertEquals(sha, written.getSha256());
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        FileResult read = agents.readFile(fx.agentId, ReadFile.newBuilder().setSandboxId(box).setPath("data/blob.bin").build(), back, T);
        assertArrayEquals(content, back.toByteArray());
        assertEquals(sha, read.getSha256());
        assertEquals(String.valueOf(content.length), exec(StartExec.newBuilder().addAllArgv(List.of("sh", "-c", "wc -c < data/blob.bin | tr -d ' \\n'")), null).stdout());
    }

    @Test
    void aPathEscapingTheSandboxIsRefusedWithAClearError() {
        CommandFailedException e = assertThrows(CommandFailedException.class, () -> agents.readFile(fx.agentId,
                ReadFile.newBuilder().setSandboxId(box).setPath("../../../etc/passwd").build(), new ByteArrayOutputStream(), T));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.error().getCode());
        assertTrue(e.error().getMessage().contains("'..'"), e.error().getMessage());
        CommandFailedException abs = assertThrows(CommandFailedException.class, () -> agents.writeFile(fx.agentId,
                WriteFile.newBuilder().setSandboxId(box).setPath("/etc/evil").build(), new ByteArrayInputStream(new byte[1]), T));
        assertTrue(abs.error().getMessage().contains("absolute"), abs.error().getMessage());
    }

    @Test
    void aPolicyDenialIsATypedErrorAndAnEvent() throws Exception {
        CommandFailedException e = assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId,
                ProvisionSandbox.newBuilder().setSandboxId("too-big").setLimits(ResourceLimits.newBuilder().setMemoryBytes(1L << 40)).build(), T));
        assertEquals(ErrorCode.POLICY_DENIED, e.error().getCode());
        assertTrue(e.error().getMessage().contains("policy.limits.max_memory"), e.error().getMessage());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (fx.cp.registry().events(fx.agentId).stream().noneMatch(r -> r.detail().contains("policy denied"))) {
            assertTrue(System.nanoTime() < deadline, "a policy_denied event reaches the control plane");
            Thread.sleep(20);
        }
        assertFalse(fx.daemon.sandboxes().find("too-big").isPresent());

        CommandFailedException ws = assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId,
                ProvisionSandbox.newBuilder().setSandboxId("sized").setLimits(ResourceLimits.newBuilder().setWorkspaceBytes(1L << 20)).build(), T));
        assertEquals(ErrorCode.POLICY_DENIED, ws.error().getCode());
        assertTrue(ws.error().getMessage().contains("cannot limit the workspace"), ws.error().getMessage());
        CommandFailedException negative = assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId,
                ProvisionSandbox.newBuilder().setSandboxId("neg").setLimits(ResourceLimits.newBuilder().setCpuSeconds(-1)).build(), T));
        assertEquals(ErrorCode.INVALID_ARGUMENT, negative.error().getCode());
    }

    @Test
    void filesPreloadedAtProvisionAreThereForTheFirstCommand() {
        agents.provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("preloaded")
                .addFiles(io.airlock.proto.v1.InitialFile.newBuilder().setPath("src/main.sh").setMode(0755)
                        .setContent(com.google.protobuf.ByteString.copyFromUtf8("echo preloaded and runnable\n")))
                .build(), T);
        List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = agents.exec(fx.agentId, StartExec.newBuilder().setSandboxId("preloaded").addArgv("./src/main.sh").build(), null,
                chunks::add, T);
        assertEquals(0, r.getExitCode());
        assertEquals("preloaded and runnable\n", chunks.get(0).getData().toStringUtf8());
        agents.destroy(fx.agentId, "preloaded", T);
    }

    @Test
    void aPreloadedFileEscapingTheWorkspaceFailsTheWholeProvision() {
        CommandFailedException e = assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId,
                ProvisionSandbox.newBuilder().setSandboxId("half").addFiles(io.airlock.proto.v1.InitialFile.newBuilder()
                        .setPath("../outside").setContent(com.google.protobuf.ByteString.copyFromUtf8("x"))).build(), T));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.error().getCode());
        assertTrue(e.error().getMessage().contains("initial file '../outside'"), e.error().getMessage());
        assertFalse(fx.daemon.sandboxes().find("half").isPresent(), "no half-made sandbox is left");
    }

    @Test
    void unknownSandboxIsNotFound() {
        CommandFailedException e = assertThrows(CommandFailedException.class,
                () -> agents.exec(fx.agentId, StartExec.newBuilder().setSandboxId("nope").addArgv("true").build(), null, c -> { }, T));
        assertEquals(ErrorCode.NOT_FOUND, e.error().getCode());
    }
}
