package io.airlock.launcher;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.AgentRegistry;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.driver.SandboxDriverProvider;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.embedded.EmbeddedStack;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ReadFile;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.WriteFile;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock dev}: an embedded control plane and a daemon on loopback, enrolled and
 * connected over mTLS, running a scripted session a person can watch.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
        description = {"Run an embedded control plane and daemon on loopback through a scripted session.",
            "Enrols over mTLS, provisions a sandbox, streams command output, pipes stdin, writes and reads a file,",
            "shows a refused escape, calls tools on a private MCP server (a small stdio server the agent runs) through the tunnel,",
            "destroys the sandbox, shows what was recorded, and exits 0 with a one-line summary.",
            "With --worker: the same daemon as a hosted platform's work-queue worker, through a reference queue on loopback."})
public final class DevCommand implements Callable<Integer> {
    static final Duration T = Duration.ofSeconds(60);

    @Option(names = "--driver", description = "Sandbox driver: bubblewrap or docker (which builds a small local busybox image). Default: ${DEFAULT-VALUE}")
    String driver = "bubblewrap";

    @Option(names = "--dir", description = "Where the session keeps its state. Default: a new directory under .airlock/dev, removed at the end")
    Path dir;

    @Option(names = "--keep", description = "Keep the state directory afterwards")
    boolean keep;

    @Option(names = "--worker", description = "Serve a hosted platform's work queue instead: a reference queue on loopback queues a session "
            + "with a skill and a memory store, and the daemon answers its tool calls from a sandbox (no enrollment)")
    boolean worker;

    @Option(names = {"-v", "--verbose"}, description = "Show the daemon's and control plane's operational log")
    boolean verbose;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        if (!verbose) {
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        }
        Optional<SandboxDriverProvider> provider = DriverRegistry.providers().stream().filter(p -> p.name().equals(driver)).findFirst();
        if (provider.isEmpty()) {
            System.err.println("error: no driver named '" + driver + "' (available: "
                    + String.join(", ", DriverRegistry.providers().stream().map(SandboxDriverProvider::name).toList()) + ")");
            return 2;
        }
        if (provider.get().unavailableReason().isPresent()) {
            System.err.println("error: the " + driver + " driver cannot run here: " + provider.get().unavailableReason().get());
            return 2;
        }
        String driverOptions = "{}";
        if (driver.equals("docker")) {
            // No registry is assumed: the dev session builds a small local image from the host's busybox.
            Optional<String> missing = BusyboxImage.unavailableReason();
            if (missing.isPresent()) {
                System.err.println("error: " + missing.get());
                return 2;
            }
            driverOptions = "{image: \"" + BusyboxImage.ensure(Path.of("/var/run/docker.sock")) + "\"}";
        }
        Path state = dir != null ? dir : Path.of(".airlock", "dev", "session-" + System.currentTimeMillis());
        long started = System.nanoTime();
        if (worker) {
            try {
                return new DevWorkerSession(out, driver, driverOptions).run(state, started);
            } finally {
                cleanUp(state);
            }
        }
        try (EmbeddedStack stack = EmbeddedStack.start(state, driver, driverOptions, "{}", privateMcpServer(state))) {
            return session(stack, started);
        } finally {
            cleanUp(state);
        }
    }

    private void cleanUp(Path state) {
        if (keep) {
            out.println("the session's state stays in " + state.toAbsolutePath() + " (--keep)");
        } else if (dir == null) {
            deleteTree(state);
            // Nothing of the session is left behind in the working directory, not even empty parents.
            removeIfEmpty(state.getParent());
            removeIfEmpty(state.getParent().getParent());
        }
    }

    private int session(EmbeddedStack stack, long started) throws Exception {
        AgentClient agents = stack.cp.agents();
        String agent = stack.identity.agentId();
        out.printf("airlock dev: control plane on %s (CA pin %s...), agent %s enrolled and connected over mTLS, driver %s%n",
                stack.cp.address(), stack.cp.ca().pin().substring(0, 16), agent, driver);
        out.printf("             drive it meanwhile from another terminal: %s cp ls --state-dir %s%n%n",
                System.getProperty("airlock.launcher", "airlock"), stack.dir.resolve("controlplane").toAbsolutePath());

        String box = "dev-" + UUID.randomUUID().toString().substring(0, 8);
        step(1, "provision sandbox " + box);
        SandboxInfo info = agents.provision(agent, ProvisionSandbox.newBuilder().setSandboxId(box).putEnv("GREETING", "hello from the sandbox").build(), T);
        out.printf("      %s is %s on driver %s%n", info.getSandboxId(), info.getState(), info.getDriver());

        AtomicLong outputBytes = new AtomicLong();
        step(2, "run a command whose output streams live");
        String script = "echo \"$GREETING\"; for i in 1 2 3; do echo \"tick $i at $(date +%T)\"; sleep 0.3; done; "
                + "echo 'this line went to stderr' >&2; id -u; hostname; ls /";
        ExecResult first = exec(agents, agent, box, List.of("sh", "-c", script), null, outputBytes);

        step(3, "write a file, read it back, list the workspace");
        byte[] content = ("Airlock moved this file over a Data stream at " + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8);
        FileResult written = agents.writeFile(agent, WriteFile.newBuilder().setSandboxId(box).setPath("notes/hello.txt").build(),
                new ByteArrayInputStream(content), T);
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        FileResult read = agents.readFile(agent, ReadFile.newBuilder().setSandboxId(box).setPath("notes/hello.txt").build(), back, T);
        boolean same = Arrays.equals(content, back.toByteArray()) && written.getSha256().equals(read.getSha256());
        out.printf("      wrote %d bytes (sha256 %s...), read back %d bytes: %s%n", written.getSize(), written.getSha256().substring(0, 16),
                read.getSize(), same ? "identical" : "DIFFERENT");
        for (FileEntry e : agents.listFiles(agent, ListFiles.newBuilder().setSandboxId(box).setRecursive(true).build(), T).getEntriesList()) {
            out.printf("      %-9s %6d  %s%n", e.getType(), e.getSize(), e.getPath());
        }

        step(4, "pipe stdin into a process inside the sandbox (it sees end-of-file)");
        ExecResult piped = exec(agents, agent, box, List.of("sh", "-c", "tr a-z A-Z | tee notes/shout.txt; wc -c < notes/shout.txt"),
                "quiet words, loud output\n", outputBytes);

        step(5, "a path escaping the sandbox is refused");
        String refusal;
        try {
            agents.readFile(agent, ReadFile.newBuilder().setSandboxId(box).setPath("../../etc/shadow").build(), new ByteArrayOutputStream(), T);
            refusal = null;
        } catch (CommandFailedException e) {
            refusal = e.getMessage();
        }
        out.println("      " + (refusal != null ? "refused: " + refusal : "NOT REFUSED"));

        step(6, "snapshot the sandbox and start a clone from the snapshot");
        String snapshots = snapshotAndClone(agents, agent, box, content);

        step(7, "call tools on a private MCP server through the tunnel (MCP Java SDK client -> control plane -> agent -> stdio server)");
        String mcp = new DevMcpCalls(out).run(stack.mcp.url(agent, DevInventoryServer.NAME), stack.adminToken, agent, T);

        step(8, "destroy the sandbox");
        agents.destroy(agent, box, T);
        boolean gone = agents.list(agent, T).getSandboxesList().stream().noneMatch(s -> s.getSandboxId().equals(box));
        out.println("      " + (gone ? box + " is gone" : box + " IS STILL LISTED"));

        step(9, "what the control plane recorded");
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until && stack.cp.registry().events(agent).stream().noneMatch(e -> e.detail().contains(box + " DESTROYED"))) {
            Thread.sleep(20); // the destroy event travels separately from the destroy result
        }
        for (AgentRegistry.RecordedEvent e : stack.cp.registry().events(agent)) {
            out.printf("      %s %-12s %s%n", e.at().toString().substring(11, 23), e.kind(), e.detail());
        }

        boolean ok = first.getExitCode() == 0 && piped.getExitCode() == 0 && same && refusal != null && gone && snapshots != null
                && mcp != null;
        double seconds = (System.nanoTime() - started) / 1e9;
        out.printf("%nsummary: %s: sandbox provisioned, 2 commands run (%d output bytes streamed), %d bytes written and read back, "
                + "escape refused, %s, %s, sandbox destroyed; %.1fs over mTLS via %s%n", ok ? "ok" : "FAILED", outputBytes.get(),
                written.getSize(), snapshots == null ? "clone DIFFERENT" : snapshots, mcp == null ? "MCP calls FAILED" : mcp, seconds, driver);
        return ok ? 0 : 1;
    }

    /** What happened, for the summary; null when the clone did not see the file. */
    private String snapshotAndClone(AgentClient agents, String agent, String box, byte[] content) {
        String name = box + "-snap";
        try {
            var snap = agents.snapshot(agent, box, name, T);
            out.printf("      snapshot %s of %s: %d bytes%n", snap.getName(), snap.getSourceSandboxId(), snap.getSizeBytes());
        } catch (CommandFailedException e) {
            if (e.error().getCode() == ErrorCode.UNIMPLEMENTED) {
                out.println("      not on this driver: " + e.error().getMessage());
                return "no snapshots on " + driver;
            }
            throw e;
        }
        String clone = box + "-clone";
        try {
            agents.provision(agent, ProvisionSandbox.newBuilder().setSandboxId(clone).setSnapshot(name).build(), T);
            ByteArrayOutputStream inClone = new ByteArrayOutputStream();
            agents.readFile(agent, ReadFile.newBuilder().setSandboxId(clone).setPath("notes/hello.txt").build(), inClone, T);
            boolean same = Arrays.equals(content, inClone.toByteArray());
            out.printf("      %s started from %s; notes/hello.txt there is %s%n", clone, name, same ? "the same file" : "DIFFERENT");
            return same ? "snapshot cloned" : null;
        } finally {
            agents.destroy(agent, clone, T);
            agents.deleteSnapshot(agent, "", name, T);
            out.printf("      %s destroyed, snapshot %s deleted%n", clone, name);
        }
    }

    private ExecResult exec(AgentClient agents, String agent, String box, List<String> argv, String stdin, AtomicLong bytes) {
        out.println("      $ " + String.join(" ", argv));
        ExecResult r = agents.exec(agent, StartExec.newBuilder().setSandboxId(box).addAllArgv(argv).build(),
                stdin == null ? null : new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), chunk -> {
                    bytes.addAndGet(chunk.getData().size());
                    String prefix = chunk.getStream() == OutputStream.STDERR ? "      ! " : "      | ";
                    for (String line : chunk.getData().toStringUtf8().split("\n")) {
                        out.println(prefix + line);
                    }
                    out.flush();
                }, T);
        out.printf("      exit %d in %d ms%s%n", r.getExitCode(), r.getDurationMs(), r.getTimedOut() ? " (timed out)" : "");
        return r;
    }

    private void step(int n, String what) {
        out.printf("[%d/9] %s%n", n, what);
    }

    /**
     * The agent's {@code mcp:} section: {@link DevInventoryServer} as a stdio server, run by this
     * same Java runtime from this class path, with one of its tools denied by local policy.
     */
    private static String privateMcpServer(Path state) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String jwks = state.toAbsolutePath().resolve("agent/mcp/caller-jwks.json").toString();
        var command = List.of(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                DevInventoryServer.class.getName(), jwks);
        // JSON is YAML flow style, and a writer quotes the class path and paths correctly whatever they hold.
        return new ObjectMapper().writeValueAsString(Map.of("servers", Map.of(DevInventoryServer.NAME,
                Map.of("command", command, "tools", Map.of("deny", List.of(DevInventoryServer.DENIED_TOOL))))));
    }

    private static void removeIfEmpty(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (DirectoryNotEmptyException e) {
            // it holds more than this session: it stays
        } catch (IOException e) {
            System.err.println("note: could not remove " + dir + ": " + e.getMessage());
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("note: could not remove " + root + ": " + e.getMessage());
        }
    }
}
