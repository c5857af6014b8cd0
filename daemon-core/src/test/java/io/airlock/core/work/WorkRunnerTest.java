package io.airlock.core.work;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.sandbox.LocalPolicy;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.MemoryDriver;
import io.airlock.core.sandbox.SandboxService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The work runner through its ports only: a fake connector and data channels, a real audit log
 * and journal, the sandbox service over an in-memory driver. No gRPC, no sandbox backend.
 */
class WorkRunnerTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final MemoryDriver driver = new MemoryDriver();
    private final FakeConnector connector = new FakeConnector();
    private AuditLog audit;
    private WorkJournal journal;
    private WorkRunner runner;

    @BeforeEach
    void start() throws Exception {
        audit = AuditLog.open(dir.resolve("audit"), 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(10));
        runner = runner();
    }

    private WorkRunner runner() throws Exception {
        journal = WorkJournal.open(dir.resolve("commands.journal"), WorkRunner.LEDGER_RETENTION);
        var config = ConfigLoader.parse("""
                state_dir: %s
                policy:
                  max_concurrent_commands: 1
                  max_file_bytes: 16B
                  exec: {max_timeout: 1m, default_timeout: 30s}
                """.formatted(dir), "test");
        SandboxService sandboxes = new SandboxService(DriverRegistry.of(List.of(driver)), new LocalPolicy(config.policy()),
                (s, state, why) -> { });
        AgentEvents events = new AgentEvents(audit);
        events.subscribe(connector);
        return new WorkRunner(sandboxes, journal, audit, events, null, (item, outcome) -> { });
    }

    @AfterEach
    void stop() {
        journal.close();
        audit.close();
    }

    private Outcome run(String id, Work work) throws InterruptedException {
        runner.submit(new WorkItem(id, 0, work), connector);
        FakeConnector.Reply r = connector.reply(WAIT);
        assertEquals(id, r.workId());
        return r.outcome();
    }

    private static Work.Provision provision(String sandboxId) {
        return new Work.Provision(sandboxId, "", "", "", "", Work.Limits.NONE, Map.of(), Map.of("team", "a"), List.of(), null);
    }

    private static Outcome.Failed failed(Outcome o, WorkError expected) {
        Outcome.Failed f = assertInstanceOf(Outcome.Failed.class, o, String.valueOf(o));
        assertEquals(expected, f.error(), f.message());
        return f;
    }

    private String auditText() throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.list(dir.resolve("audit"))) {
            for (Path p : files.sorted().toList()) {
                all.append(Files.readString(p, StandardCharsets.ISO_8859_1));
            }
        }
        return all.toString();
    }

    @Test
    void filesGoInAndOutOverADataChannelAndEveryStepIsAudited() throws Exception {
        Outcome.SandboxDone box = assertInstanceOf(Outcome.SandboxDone.class, run("p", provision("b")));
        assertEquals("READY", box.sandbox().state());
        assertEquals(Map.of("team", "a"), box.sandbox().labels());

        runner.submit(new WorkItem("w", 0, new Work.WriteFile("b", "a.txt", 0644)), connector);
        FakeConnector.Channel up = connector.awaitChannel("w", WAIT);
        up.receive(new Frame.Chunk("hello ".getBytes(StandardCharsets.UTF_8)));
        up.receive(new Frame.Chunk("core".getBytes(StandardCharsets.UTF_8)));
        up.receive(new Frame.Eof());
        Outcome.FileDone written = assertInstanceOf(Outcome.FileDone.class, connector.reply(WAIT).outcome());
        assertEquals(10, written.size());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("hello core".getBytes(StandardCharsets.UTF_8))),
                written.sha256());
        assertArrayEquals("hello core".getBytes(StandardCharsets.UTF_8), driver.content("b", "a.txt"));

        Outcome.FileDone read = assertInstanceOf(Outcome.FileDone.class, run("r", new Work.ReadFile("b", "a.txt")));
        FakeConnector.Channel down = connector.channels.get("r");
        assertEquals("hello core", new String(down.chunks(), StandardCharsets.UTF_8));
        assertInstanceOf(Frame.Eof.class, down.sent.get(down.sent.size() - 1));
        assertTrue(down.finished, "the agent half-closes after the end mark");
        assertEquals(written.sha256(), read.sha256());

        assertEquals(10, assertInstanceOf(Outcome.StatDone.class, run("s", new Work.Stat("b", "a.txt"))).entry().size());
        assertEquals(List.of("a.txt"), assertInstanceOf(Outcome.Files.class, run("l", new Work.ListFiles("b", "", true))).entries().stream()
                .map(Outcome.FileView::path).toList());

        String log = auditText();
        for (String action : List.of("provision", "write_file", "read_file", "stat", "list_files")) {
            assertTrue(log.contains("\"action\":\"" + action + "\""), action + " in " + log);
        }
        assertTrue(log.contains("\"sha256\":\"" + written.sha256() + "\""), log);
    }

    @Test
    void aRepeatedIdGetsTheFirstResultWithoutRunningAgain() throws Exception {
        Outcome first = run("same", provision("one"));
        Outcome again = run("same", provision("two"));
        assertEquals(first, again);
        assertTrue(driver.get("two").isEmpty(), "the repeat ran nothing");
    }

    @Test
    void theJournalAnswersARepeatAfterARestart() throws Exception {
        Outcome first = run("p", provision("b"));
        driver.destroy("b");
        journal.close();
        runner = runner();
        assertEquals(first, run("p", provision("b")));
        assertTrue(driver.get("b").isEmpty(), "the repeat after the restart did not provision again");
    }

    @Test
    void anUploadOverThePolicyLimitIsRefusedNamingTheFieldAndLeavesNothing() throws Exception {
        run("p", provision("b"));
        runner.submit(new WorkItem("big", 0, new Work.WriteFile("b", "big.bin", 0644)), connector);
        FakeConnector.Channel up = connector.awaitChannel("big", WAIT);
        up.receive(new Frame.Chunk(new byte[10]));
        up.receive(new Frame.Chunk(new byte[10]));
        Outcome.Failed f = failed(connector.reply(WAIT).outcome(), WorkError.RESOURCE_EXHAUSTED);
        assertTrue(f.message().contains("policy.max_file_bytes (16 bytes)"), f.message());
        assertTrue(up.aborted != null && up.aborted.contains("policy.max_file_bytes"), String.valueOf(up.aborted));
        assertNull(driver.content("b", "big.bin"), "nothing was stored");
    }

    @Test
    void workIsAdmittedOnlyWithinTheDeadlineTheSlotsAndWhileNotDraining() throws Exception {
        run("p", provision("b"));
        // The one slot is held by an upload waiting for its bytes.
        runner.submit(new WorkItem("w", 0, new Work.WriteFile("b", "x", 0644)), connector);
        FakeConnector.Channel up = connector.awaitChannel("w", WAIT);
        Outcome.Failed busy = failed(run("busy", new Work.Get("b")), WorkError.RESOURCE_EXHAUSTED);
        assertTrue(busy.message().contains("policy.max_concurrent_commands (1)"), busy.message());
        up.receive(new Frame.Eof());
        assertInstanceOf(Outcome.FileDone.class, connector.reply(WAIT).outcome());
        assertInstanceOf(Outcome.SandboxDone.class, run("busy", new Work.Get("b")), "a refused id is forgotten, so a retry runs");

        runner.submit(new WorkItem("late", System.currentTimeMillis() - 1000, new Work.Get("b")), connector);
        failed(connector.reply(WAIT).outcome(), WorkError.DEADLINE_EXCEEDED);
        failed(run("new", new Work.Unknown("command has no action")), WorkError.INVALID_ARGUMENT);
        failed(run("mcp", new Work.McpExchange("files", "POST", Map.of(), new Work.McpExchange.Caller("", "", ""), new byte[0], false)),
                WorkError.FAILED_PRECONDITION);
        runner.startDraining();
        failed(run("drained", new Work.Get("b")), WorkError.DRAINING);
        assertEquals(0, runner.inFlight());
    }

    @Test
    void aCallerThatHasAResultMaySendTheNextCommandAtOnce() throws Exception {
        run("p", provision("b"));
        // The caller sends the next command the moment it holds a result, from inside the reply (with one slot).
        Connector eager = new Connector() {
            @Override
            public void reply(String workId, Outcome outcome) {
                connector.reply(workId, outcome);
                if (workId.equals("first")) {
                    runner.submit(new WorkItem("second", 0, new Work.Get("b")), connector);
                }
            }

            @Override
            public void event(AgentEvent event) {
                connector.event(event);
            }

            @Override
            public DataChannel openData(String workId, long deadlineMs, DataChannel.Inbound inbound) {
                return connector.openData(workId, deadlineMs, inbound);
            }
        };
        runner.submit(new WorkItem("first", 0, new Work.Get("b")), eager);
        assertEquals("first", connector.reply(WAIT).workId());
        FakeConnector.Reply second = connector.reply(WAIT);
        assertEquals("second", second.workId());
        assertInstanceOf(Outcome.SandboxDone.class, second.outcome(), "the slot was free before the first result left: " + second.outcome());
    }

    @Test
    void badInputIsRefusedNamingWhatWasWrong() throws Exception {
        run("p", provision("b"));
        failed(run("missing", new Work.Get("nope")), WorkError.NOT_FOUND);
        Outcome.Failed escape = failed(run("escape", new Work.ReadFile("b", "../../etc/passwd")), WorkError.FAILED_PRECONDITION);
        assertTrue(escape.message().contains("../../etc/passwd"), escape.message());
        Outcome.Failed rule = failed(run("rule", new Work.UpdateEgress("b", List.of(new Work.RuleSpec("pypi.org", "10.0.0.0/8", List.of())))),
                WorkError.INVALID_ARGUMENT);
        assertTrue(rule.message().startsWith("update_egress.egress.rules[0]: names both"), rule.message());
        Outcome.Failed both = failed(run("both", new Work.Provision("c", "", "img", "snap", "", Work.Limits.NONE, Map.of(), Map.of(),
                List.of(), null)), WorkError.INVALID_ARGUMENT);
        assertTrue(both.message().contains("expected: at most one"), both.message());
        failed(run("noproc", exec("b", 0)), WorkError.UNIMPLEMENTED);
    }

    @Test
    void aPolicyDenialIsAuditedAndToldAsAnEvent() throws Exception {
        run("p", provision("b"));
        Outcome.Failed denied = failed(run("x", exec("b", 3_600_000)), WorkError.POLICY_DENIED);
        assertTrue(denied.message().contains("policy.exec.max_timeout"), denied.message());
        assertTrue(connector.events().stream().anyMatch(e -> e instanceof AgentEvent.PolicyDenied p && p.workId().equals("x")
                && p.rule().equals("policy.exec.max_timeout")), connector.events().toString());
        String log = auditText();
        assertTrue(log.contains("\"type\":\"policy.denied\""), log);
        assertTrue(log.contains("\"outcome\":\"POLICY_DENIED\""), log);
    }

    private static Work.Exec exec(String sandbox, long timeoutMs) {
        return new Work.Exec(sandbox, List.of("true"), Map.of(), "", timeoutMs, 0, false, 0, false, 0, 0);
    }
}
