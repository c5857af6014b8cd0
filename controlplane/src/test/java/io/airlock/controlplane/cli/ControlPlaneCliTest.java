package io.airlock.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.admin.AdminServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code airlock cp} run in this JVM against a real control plane and admin API on loopback,
 * its output captured as a person (or a script, with --json) would read it: tables, JSON parsed
 * by a JSON reader, errors on stderr with the exit status that says what kind they were.
 */
class ControlPlaneCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private ControlPlaneServer cp;
    private AdminServer admin;

    record Run(int exit, String out, String err) {}

    @BeforeEach
    void start() throws Exception {
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir, 0));
        admin = new AdminServer(cp, dir, 0);
    }

    @AfterEach
    void stop() {
        admin.close();
        cp.close();
    }

    private Run cp(String... args) {
        List<String> argv = new ArrayList<>(List.of(args));
        if (argv.size() > 0 && !argv.contains("--help")) {
            argv.addAll(List.of("--state-dir", dir.toString()));
        }
        CliOutput.Captured captured = CliOutput.captured();
        int exit = ControlPlaneCommand.commandLine(captured, args).execute(argv.toArray(String[]::new));
        return new Run(exit, captured.stdout(), captured.stderr());
    }

    @Test
    void theAgentListIsATableOrJson() throws Exception {
        Run table = cp("agents");
        assertEquals(0, table.exit(), table.err());
        assertTrue(table.out().startsWith("AGENT "), table.out());
        assertTrue(table.out().contains("DRIVERS"), table.out());
        Run json = cp("agents", "--json");
        assertEquals(0, json.exit(), json.err());
        assertTrue(JSON.readTree(json.out()).isObject(), json.out());
        assertEquals("", json.err());
    }

    @Test
    void aJoinTokenGoesToStdoutOrIntoAFileButNeverBoth() throws Exception {
        Run plain = cp("token", "create", "--ttl", "5m");
        assertEquals(0, plain.exit(), plain.err());
        String token = plain.out().strip();
        assertFalse(token.isEmpty() || token.contains(" "), "one token on one line: " + plain.out());

        Run json = cp("token", "create", "--json");
        JsonNode node = JSON.readTree(json.out());
        assertFalse(node.path("token").asText().isEmpty(), json.out());
        assertTrue(node.path("expiresAtMs").asLong() > System.currentTimeMillis(), json.out());

        Path file = dir.resolve("join.token");
        Run toFile = cp("token", "create", "--out", file.toString(), "--json");
        assertEquals(0, toFile.exit(), toFile.err());
        JsonNode written = JSON.readTree(toFile.out());
        assertEquals(file.toString(), written.path("written_to").asText());
        String saved = Files.readString(file).strip();
        assertFalse(toFile.out().contains(saved), "the token stays in the file");

        Run said = cp("token", "create", "--out", file.toString());
        assertEquals("", said.out());
        assertTrue(said.err().startsWith("join token written to " + file), said.err());
    }

    @Test
    void errorsAreOneLineOnStderrWithTheirKindInTheExitStatus() {
        Run badWait = cp("ls", "--wait", "soon");
        assertEquals(2, badWait.exit());
        assertTrue(badWait.err().startsWith("error: --wait: 'soon' is not a duration"), badWait.err());

        Run noAgent = cp("ls", "--wait", "0s");
        assertEquals(ControlPlaneCommand.EXIT_REFUSED, noAgent.exit(), noAgent.err());
        assertTrue(noAgent.err().startsWith("error: "), noAgent.err());
        assertEquals(1, noAgent.err().strip().lines().count(), noAgent.err());
        assertEquals("", noAgent.out());

        Run rm = cp("rm", "box-1", "--agent", "nobody", "--wait", "0s", "--json");
        assertEquals(ControlPlaneCommand.EXIT_REFUSED, rm.exit(), rm.err());

        admin.close();
        Run gone = cp("agents");
        assertEquals(ControlPlaneCommand.EXIT_TRANSPORT, gone.exit(), gone.err());
        // A stopped control plane removes its admin.address: the CLI says none runs for this state directory.
        assertTrue(gone.err().startsWith("error: no running control plane found in " + dir.toAbsolutePath()), gone.err());
    }

    @Test
    void helpAndUsageErrorsGoThroughTheSameOutput() {
        Run help = cp("--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("Exit status: 0 done"), help.out());
        Run typo = cp("lss");
        assertEquals(2, typo.exit());
        assertTrue(typo.err().contains("lss"), typo.err());
    }
}
