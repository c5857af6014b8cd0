package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditVerifier;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code airlock dev} on bubblewrap, in this JVM: the whole scripted session succeeds, and its
 * MCP step reached the private stdio server through the tunnel. The server verified the caller
 * token the agent put in {@code _meta} against the published key, the denied tool never got
 * there, and the agent audited each call.
 */
class DevCommandIT {
    @TempDir
    Path dir;

    /** Runs {@code airlock dev} in this JVM; returns what it printed once it exited 0. */
    private String dev(String... args) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            exit = new CommandLine(new DevCommand()).execute(args);
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
        return out;
    }

    @Test
    void theDevSessionCallsAPrivateMcpServerThroughTheTunnel() throws Exception {
        String out = dev("--driver", "bubblewrap", "--dir", dir.toString());
        assertTrue(out.contains("summary: ok:"), out);
        assertTrue(out.contains("find_host db-1 -> db-1.corp.internal"), out);
        assertTrue(out.contains("whoami -> verified: user dev@localhost, agent airlock-dev"), "the server verified the caller token: " + out);
        assertTrue(out.contains("drop_inventory -> refused: tool 'drop_inventory' on MCP server 'inventory' is denied by the agent's policy "
                + "(mcp.servers.inventory.tools.deny)"), out);

        Path audit = dir.resolve("agent/audit");
        List<String> mcp;
        try (Stream<Path> files = Files.list(audit)) {
            mcp = files.filter(p -> p.toString().endsWith(".log")).flatMap(DevCommandIT::lines)
                    .filter(l -> l.contains("\"server\":\"inventory\"") && l.contains("\"method\":\"tools/call\"")).toList();
        }
        assertEquals(3, mcp.size(), "one record per tool call: " + mcp);
        assertTrue(mcp.stream().anyMatch(l -> l.contains("\"tool\":\"whoami\"") && l.contains("\"outcome\":\"ok\"")
                && l.contains("\"caller_user\":\"dev@localhost\"")), mcp.toString());
        assertTrue(mcp.stream().anyMatch(l -> l.contains("\"tool\":\"drop_inventory\"") && l.contains("\"outcome\":\"denied\"")), mcp.toString());
        assertTrue(AuditVerifier.verify(audit).ok(), "the audit chain verifies");
    }

    @Test
    void theWorkerSessionAnswersToolCallsFromASandboxAndHandsTheSessionBack() throws Exception {
        String out = dev("--worker", "--driver", "bubblewrap", "--dir", dir.toString());
        assertTrue(out.contains("summary: ok: 8 tool calls answered from a bubblewrap sandbox"), out);
        assertTrue(out.contains("-> team airlock in /workspace"), "the shell kept its state between calls: " + out);
        assertTrue(out.contains("memory store now holds /notes.md: Finished the dev session."), out);
        Path audit = dir.resolve("agent/audit");
        List<String> tools;
        try (Stream<Path> files = Files.list(audit)) {
            tools = files.filter(p -> p.toString().endsWith(".log")).flatMap(DevCommandIT::lines)
                    .filter(l -> l.contains("\"worker.tool\"")).toList();
        }
        assertEquals(8, tools.size(), "one record per tool call: " + tools);
        assertTrue(tools.stream().anyMatch(l -> l.contains("\"tool\":\"grep\"") && l.contains("\"outcome\":\"denied\"")), tools.toString());
        assertTrue(AuditVerifier.verify(audit).ok(), "the audit chain verifies");
    }

    /** Issue 18: run where a user stands, the session leaves nothing in the working directory, and its hint named a real path. */
    @Test
    void aSessionLeavesNothingBehindInTheWorkingDirectory() throws Exception {
        Path cwd = Files.createDirectories(dir.resolve("elsewhere"));
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(javaBin, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Airlock.class.getName(), "dev")
                .directory(cwd.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), out);
        assertEquals(0, p.exitValue(), out);
        Matcher hint = Pattern.compile("from another terminal: airlock cp ls --state-dir (\\S+)").matcher(out);
        assertTrue(hint.find(), out);
        assertTrue(Path.of(hint.group(1)).isAbsolute() && Path.of(hint.group(1)).startsWith(cwd.toRealPath()), hint.group(1));
        try (Stream<Path> left = Files.list(cwd)) {
            assertEquals(List.of(), left.toList(), "nothing left in the working directory");
        }
    }

    private static Stream<String> lines(Path p) {
        try {
            return Files.readAllLines(p).stream();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
