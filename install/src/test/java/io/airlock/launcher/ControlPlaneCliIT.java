package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.cli.ControlPlaneCommand;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.embedded.EmbeddedStack;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The `airlock cp` admin CLI against a live control plane with a connected daemon. */
class ControlPlaneCliIT {
    @TempDir
    static Path dir;
    static EmbeddedStack stack;
    static String stateDir;

    @BeforeAll
    static void start() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        stack = EmbeddedStack.start(dir.resolve("stack"), "bubblewrap");
        stateDir = stack.dir.resolve("controlplane").toString();
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static CliRun cp(String... args) {
        // Options go before a possible "--", after which everything is the command's argv.
        String[] full = new String[args.length + 2];
        full[0] = args[0];
        full[1] = "--state-dir";
        full[2] = stateDir;
        System.arraycopy(args, 1, full, 3, args.length - 1);
        return CliRun.of(ControlPlaneCommand.commandLine(full), full);
    }

    @Test
    void drivesASandboxLifecycleFromTheCommandLine() throws Exception {
        CliRun agents = cp("agents", "--json");
        assertEquals(0, agents.exit(), agents.err());
        assertTrue(agents.out().contains(stack.identity.agentId()), agents.out());

        int before = awaitLiveSandboxes(-1);
        assertEquals(0, cp("create", "cli-box").exit());
        CliRun ls = cp("ls");
        assertTrue(ls.out().contains("cli-box"), ls.out());
        assertEquals(before + 1, awaitLiveSandboxes(before + 1), "cp agents counts the live sandbox");

        CliRun exec = cp("exec", "cli-box", "--", "sh", "-c", "echo out; echo err >&2; exit 7");
        assertEquals(7, exec.exit(), "exec exits with the command's exit code; stderr: " + exec.err());
        assertEquals("out\n", exec.out());
        assertEquals("err\n", exec.err());

        Path local = dir.resolve("up.txt");
        Files.writeString(local, "uploaded by the CLI\n");
        CliRun up = cp("cp", local.toString(), "cli-box:in/up.txt");
        assertEquals(0, up.exit(), up.err());
        Path down = dir.resolve("down.txt");
        CliRun dl = cp("cp", "cli-box:in/up.txt", down.toString());
        assertEquals(0, dl.exit(), dl.err());
        assertEquals("uploaded by the CLI\n", Files.readString(down));
        assertTrue(cp("files", "cli-box", "-r").out().contains("in/up.txt"));
        CliRun stat = cp("stat", "cli-box", "in/up.txt");
        assertEquals(0, stat.exit(), stat.err());
        assertTrue(stat.out().startsWith("REGULAR") && stat.out().contains(" 20  "), stat.out());

        // A directory tree both ways as tar archives, made and read with the system's own tar.
        Path tree = Files.createDirectories(dir.resolve("tree/sub"));
        Files.writeString(tree.resolve("deep.txt"), "deep\n");
        Path tarIn = dir.resolve("in.tar");
        assertEquals(0, new ProcessBuilder("tar", "-C", dir.resolve("tree").toString(), "-cf", tarIn.toString(), ".").start().waitFor());
        CliRun tarUp = cp("cp", "--tar", tarIn.toString(), "cli-box:unpacked");
        assertEquals(0, tarUp.exit(), tarUp.err());
        assertEquals("deep\n", cp("exec", "cli-box", "--", "cat", "unpacked/sub/deep.txt").out());
        Path tarOut = dir.resolve("out.tar");
        CliRun tarDown = cp("cp", "--tar", "cli-box:unpacked", tarOut.toString());
        assertEquals(0, tarDown.exit(), tarDown.err());
        Process list = new ProcessBuilder("tar", "-tf", tarOut.toString()).start();
        String names = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, list.waitFor());
        assertTrue(names.contains("unpacked/sub/deep.txt"), names);

        CliRun snap = cp("snapshot", "cli-box", "s1");
        assertEquals(1, snap.exit(), "bubblewrap has no snapshots");
        assertTrue(snap.err().contains("UNIMPLEMENTED"), snap.err());

        CliRun escape = cp("cp", "cli-box:../../etc/passwd", dir.resolve("x").toString());
        assertEquals(1, escape.exit());
        assertTrue(escape.err().contains("FAILED_PRECONDITION: path '../../etc/passwd' refused"), escape.err());
        assertTrue(Files.notExists(dir.resolve("x")) && Files.notExists(dir.resolve("x.part")), "nothing left behind locally");

        CliRun pause = cp("pause", "cli-box");
        assertEquals(1, pause.exit(), "bubblewrap cannot pause");
        assertTrue(pause.err().contains("UNIMPLEMENTED: the bubblewrap driver cannot pause sandboxes"), pause.err());

        assertEquals(0, cp("rm", "cli-box").exit());
        assertTrue(!cp("ls").out().contains("cli-box"));
        assertTrue(cp("events").out().contains("cli-box DESTROYED"));
        assertEquals(before, awaitLiveSandboxes(before), "and no longer once it is destroyed");
    }

    /** The agent's live sandbox count in `cp agents`, once it is {@code expected} (or, for -1, at once); 20 s at most. */
    private static int awaitLiveSandboxes(int expected) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (true) {
            CliRun agents = cp("agents", "--json");
            assertEquals(0, agents.exit(), agents.err());
            int live = new com.fasterxml.jackson.databind.ObjectMapper().readTree(agents.out()).path("agents").path(0).path("liveSandboxes").asInt();
            if (expected < 0 || live == expected || System.nanoTime() > deadline) {
                return live;
            }
            Thread.sleep(100);
        }
    }

    @Test
    void tokenCreationAndTheAgentListTakeNoAgentOptions() {
        CliRun help = CliRun.of(ControlPlaneCommand.commandLine("token"), "token", "create", "--help");
        assertFalse(help.out().contains("--agent") || help.out().contains("--wait"), help.out());
        CliRun wrong = cp("agents", "--agent", "x");
        assertEquals(2, wrong.exit(), wrong.out() + wrong.err());
        assertTrue(wrong.err().contains("Unknown option") && wrong.err().contains("'--agent'"), wrong.err());
    }

    @Test
    void aWrongStateDirectorySaysWhereItLooked() {
        int exit = ControlPlaneCommand.commandLine("ls").execute("ls", "--state-dir", dir.resolve("nowhere").toString());
        assertEquals(125, exit, "no control plane to reach: a transport failure, not a refusal");
    }
}
