package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The build's last word (install/src/build/SkippedTests.java), run as the build runs it, over reports made here. */
class SkippedTestsReportTest {
    static final Path PROGRAM = Path.of("src/build/SkippedTests.java").toAbsolutePath();

    @TempDir
    Path root;

    @Test
    void listsEachSkippedTestWithItsReasonAndLeavesOutAnEarlierBuildsReports() throws Exception {
        Path reports = Files.createDirectories(root.resolve("daemon/target/failsafe-reports"));
        Files.writeString(reports.resolve("TEST-io.airlock.daemon.McpTunnelIT.xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <testsuite name="io.airlock.daemon.McpTunnelIT" tests="2" skipped="1">
                  <testcase name="callsATool" classname="io.airlock.daemon.McpTunnelIT" time="1.0"/>
                  <testcase name="resumesAStream" classname="io.airlock.daemon.McpTunnelIT" time="0">
                    <skipped message="prerequisite missing: npm MCP peers: run npm install in mcp-peers"/>
                  </testcase>
                  <testcase name="bootsAMachine" classname="io.airlock.daemon.McpTunnelIT" time="0">
                    <skipped type="org.opentest4j.TestAbortedException"><![CDATA[org.opentest4j.TestAbortedException: machines do not nest
                	at org.junit.jupiter.api.Assumptions.abort(Assumptions.java:300)]]></skipped>
                  </testcase>
                </testsuite>
                """);
        Path old = Files.createDirectories(root.resolve("tunnel/target/surefire-reports")).resolve("TEST-io.airlock.tunnel.OldTest.xml");
        Files.writeString(old, """
                <testsuite name="io.airlock.tunnel.OldTest"><testcase name="gone" classname="io.airlock.tunnel.OldTest">
                <skipped message="from an earlier build"/></testcase></testsuite>
                """);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
        String javaBin = ProcessHandle.current().info().command().orElseThrow();

        Command.Result r = Command.run(Duration.ofSeconds(60), javaBin, PROGRAM.toString(), root.toString(),
                Instant.now().minus(Duration.ofMinutes(5)).toString());
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("Skipped tests: 2 "), r.out());
        assertTrue(r.out().contains("McpTunnelIT.bootsAMachine: machines do not nest\n"), "Surefire 3's form, the reason without the type: " + r.out());
        assertTrue(r.out().contains("McpTunnelIT.resumesAStream: prerequisite missing: npm MCP peers: run npm install in mcp-peers"), r.out());
        assertFalse(r.out().contains("OldTest"), "an earlier build's report is not this build's: " + r.out());
    }
}
