package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.daemon.audit.AuditVerifier;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

    @Test
    void theDevSessionCallsAPrivateMcpServerThroughTheTunnel() throws Exception {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        int exit;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            exit = new CommandLine(new DevCommand()).execute("--driver", "bubblewrap", "--dir", dir.toString());
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
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

    private static Stream<String> lines(Path p) {
        try {
            return Files.readAllLines(p).stream();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
