package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.cli.ControlPlaneCommand;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.embedded.EmbeddedStack;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 17.9 and 17.10: `airlock cp` when the control plane or the agent is not there. A
 * transport failure has its own exit status and says whether the command may have run; an
 * offline agent is named at once, waited for at most --wait, and nothing is sent after that.
 */
class ControlPlaneCliFailureIT {
    @TempDir
    Path dir;
    EmbeddedStack stack;

    @AfterEach
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    /** Runs {@code cp SUB --state-dir STATE ARGS...}; SUB may name a nested command ("egress show"). */
    static CliRun cp(Path state, String sub, String... args) {
        List<String> full = new ArrayList<>(List.of(sub.split(" ")));
        full.addAll(List.of("--state-dir", state.toString()));
        full.addAll(List.of(args));
        String[] argv = full.toArray(String[]::new);
        return CliRun.of(ControlPlaneCommand.commandLine(argv), argv);
    }

    @Test
    void aControlPlaneThatIsNotThereIsATransportFailureThatSaysNothingWasSent() throws Exception {
        Path state = dir.resolve("cp");
        Files.createDirectories(state);
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Files.writeString(state.resolve("admin.address"), "127.0.0.1:" + closed + "\n");
        Files.writeString(state.resolve("admin.token"), "t\n");
        CliRun r = cp(state, "ls");
        assertEquals(125, r.exit(), r.err());
        assertTrue(r.err().startsWith("error: cannot reach the control plane's admin API at 127.0.0.1:" + closed)
                && r.err().contains("Nothing was sent"), r.err());
        for (String[] sub : List.of(new String[0], new String[] {"exec"}, new String[] {"ls"})) {
            CommandLine cli = ControlPlaneCommand.commandLine();
            for (String name : sub) {
                cli = cli.getSubcommands().get(name);
            }
            String help = cli.getUsageMessage().replaceAll("\\s+", " ");
            assertTrue(help.contains("125 the control plane could not be reached"), help);
        }
    }

    @Test
    void anOfflineAgentIsNamedAtOnceWaitedForBrieflyAndABrokenCallMayHaveRun() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        stack = EmbeddedStack.start(dir.resolve("stack"), "bubblewrap");
        Path state = stack.dir.resolve("controlplane");
        String agent = stack.identity.agentId();
        assertEquals(0, cp(state, "create", "box").exit());
        stack.daemon.stop();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (stack.cp.registry().agent(agent).orElseThrow().connected() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }

        CliRun offline = cp(state, "exec", "box", "--agent", agent, "--wait", "1s", "--", "touch", "late");
        assertEquals(1, offline.exit(), offline.err());
        assertTrue(offline.err().startsWith("agent " + agent + " is offline; waiting up to 1s for it to connect (--wait)"), offline.err());
        assertTrue(offline.err().contains("did not connect within 1000 ms (--wait): nothing was sent"), offline.err());
        assertTrue(stack.cp.registry().agent(agent).isPresent());

        // A call under way when the control plane goes away: the connection breaks, and the command may have run.
        CompletableFuture<CliRun> waiting = CompletableFuture.supplyAsync(() -> cp(state, "exec", "box", "--agent", agent, "--wait", "60s", "--", "true"));
        Thread.sleep(1500);
        stack.admin.close();
        CliRun broken = waiting.get(30, TimeUnit.SECONDS);
        assertEquals(125, broken.exit(), broken.err());
        assertTrue(broken.err().contains("broke during the call") && broken.err().contains("the command may have run"), broken.err());
    }
}
