package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.connector.worker.tools.Toolset;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.LocalPolicy;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.SandboxDriver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Airlock's worker against the reference work queue, in real sandboxes of each driver: the toolset
 * run in a session's sandbox, a tool the local policy denies, escapes refused, a skill
 * delivered, lease loss and a stale heartbeat ending the work, a failed provision never acked.
 */
abstract class WorkerContract {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration LEASE = Duration.ofSeconds(6);

    @TempDir
    Path dir;
    private WorkQueueServer server;
    private WorkQueueScript platform;
    private AuditLog audit;
    private SandboxService sandboxes;
    private WorkerConnector worker;
    private SandboxDriver driver;
    private Approvals approvals;

    @BeforeEach
    void start() throws Exception {
        String apiKey = "apikey_" + System.nanoTime();
        server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC());
        platform = new WorkQueueScript(server.url(), apiKey);
        audit = AuditLog.open(dir.resolve("audit"), 1 << 22, AuditLog.Durability.EACH, Duration.ofMillis(10));
        driver = driver(dir.resolve("driver"));
        approvals = new Approvals(dir.resolve("approvals"));
        var config = ConfigLoader.parse("policy: {exec: {max_timeout: 10m}}", "test");
        sandboxes = new SandboxService(DriverRegistry.of(List.of(driver)), new LocalPolicy(config.policy()), (s, st, why) -> { });
    }

    /** The driver under test, its prerequisites checked first. */
    abstract SandboxDriver driver(Path stateDir) throws Exception;

    @AfterEach
    void stop() throws Exception {
        if (worker != null) {
            worker.close();
        }
        driver.close();
        server.close();
        audit.close();
    }

    private WorkerEnvironment environment(String id, String driver, List<String> deny) throws Exception {
        return environment(id, driver, new WorkerEnvironment.Tools(deny));
    }

    private WorkerEnvironment environment(String id, String driver, WorkerEnvironment.Tools tools) throws Exception {
        String key = platform.createEnvironment(id);
        Path keyFile = dir.resolve(id + ".key");
        Files.writeString(keyFile, key);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        return new WorkerEnvironment(URI.create(server.url()), id, keyFile, "it-worker", 4, driver, "",
                tools, LEASE, Duration.ofSeconds(1));
    }

    private String enqueue(String env, String session) throws Exception {
        return platform.enqueue(env, session);
    }

    private void send(String session, String... events) throws Exception {
        List<ObjectNode> parsed = new java.util.ArrayList<>();
        for (String e : events) {
            parsed.add((ObjectNode) JSON.readTree(e));
        }
        platform.send(session, parsed);
    }

    private static String tool(String id, String name, String input) {
        return "{\"type\":\"agent.tool_use\",\"id\":\"" + id + "\",\"name\":\"" + name + "\",\"input\":" + input + "}";
    }

    private Map<String, JsonNode> results(String session) throws Exception {
        return platform.results(session); // refuses a second result for one tool use
    }

    private static String text(JsonNode result) {
        return result.get("content").get(0).get("text").asText();
    }

    private static void await(String what, Duration max, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + max + " waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    private BooleanSupplier resultsAtLeast(String session, int n) {
        return () -> {
            try {
                return results(session).size() >= n;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private BooleanSupplier itemIs(String env, String workId, String state) {
        return () -> {
            try {
                return item(env, workId).equals(state);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    private String item(String env, String workId) throws Exception {
        return platform.item(env, workId).get("state").asText();
    }

    private String auditText() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("audit"))) {
            return files.filter(Files::isRegularFile).sorted().map(p -> {
                try {
                    return Files.readString(p);
                } catch (IOException e) {
                    return "";
                }
            }).collect(Collectors.joining("\n"));
        }
    }

    @Test
    void aSessionRunsTheToolsetInItsOwnSandboxAndIsHandedBackWhenIdle() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_a", "", List.of())), sandboxes, audit, approvals);
        String work = enqueue("env_a", "sesn_a");
        send("sesn_a",
                tool("t01", "bash", "{\"command\":\"mkdir -p sub && cd sub && export GREETING=hello\"}"),
                tool("t02", "bash", "{\"command\":\"pwd; echo $GREETING\"}"),
                tool("t03", "bash", "{\"command\":\"sleep 20\",\"timeout_ms\":500}"),
                tool("t03b", "bash", "{\"command\":\"echo refused\"}"),
                tool("t04", "bash", "{\"restart\":true,\"command\":\"echo \\\"[$GREETING]\\\"\"}"),
                tool("t05", "bash", "{\"command\":\"head -c 300000 /dev/zero | tr '\\\\\\\\0' x; echo; echo tail-marker\"}"),
                tool("t06", "bash", "{\"command\":\"printf 'red\\\\033[31m\\\\n'; false\"}"),
                tool("t07", "write", "{\"file_path\":\"notes/a.txt\",\"content\":\"alpha\\nbeta\\n\"}"),
                tool("t07b", "write", "{\"file_path\":\"top.txt\",\"content\":\"top\"}"),
                tool("t08", "read", "{\"file_path\":\"/workspace/notes/a.txt\"}"),
                tool("t09", "edit", "{\"file_path\":\"notes/a.txt\",\"old_string\":\"beta\",\"new_string\":\"gamma\"}"),
                tool("t10", "read", "{\"file_path\":\"notes/a.txt\",\"view_range\":[2,2]}"),
                tool("t10b", "read", "{\"file_path\":\"notes/a.txt\",\"view_range\":[2,-1]}"),
                tool("t10c", "bash", "{\"command\":\"printf 'a\\\\377b' > bytes.bin\"}"),
                tool("t10d", "read", "{\"file_path\":\"bytes.bin\"}"),
                tool("t11", "glob", "{\"pattern\":\"**/*.txt\"}"),
                tool("t11b", "glob", "{\"pattern\":\"notes/**/*.txt\"}"),
                tool("t12", "grep", "{\"pattern\":\"gam+a\"}"),
                tool("t13", "read", "{\"file_path\":\"../../etc/passwd\"}"),
                tool("t14", "bash", "{\"command\":\"ln -s /etc/passwd leak && ln -s / root-link\"}"),
                tool("t15", "read", "{\"file_path\":\"leak\"}"),
                tool("t16", "write", "{\"file_path\":\"root-link/tmp/x\",\"content\":\"no\"}"),
                tool("t17", "edit", "{\"file_path\":\"notes/a.txt\",\"old_string\":\"zzz\",\"new_string\":\"q\"}"),
                tool("t18", "web_search", "{\"query\":\"not ours\"}"),
                tool("t19", "bash", "{\"command\":\"echo bye; echo err >&2; exit 3\"}"),
                tool("t20", "bash", "{\"command\":\"echo after\"}"));
        await("25 results", Duration.ofSeconds(90), resultsAtLeast("sesn_a", 25));
        Map<String, JsonNode> r = results("sesn_a");
        assertFalse(r.containsKey("t18"), "a tool outside the toolset stays pending for its owner");
        assertEquals("(no output)", text(r.get("t01")));
        assertEquals("/workspace/sub\nhello", text(r.get("t02")), "cwd and variables persist between calls");
        assertTrue(r.get("t03").get("is_error").asBoolean());
        assertTrue(text(r.get("t03")).contains("command timed out after 0.5s\n" + Toolset.SHELL_GONE), text(r.get("t03")));
        assertTrue(r.get("t03b").get("is_error").asBoolean());
        assertEquals(Toolset.COMMAND_NOT_RUN, text(r.get("t03b")), "a timeout kills the shell; calls are refused until a restart");
        assertEquals("[]", text(r.get("t04")), "restart: a new shell, without the old one's variables");
        assertTrue(r.get("t19").get("is_error").asBoolean());
        assertEquals("err\n\nbye\n" + Toolset.SHELL_GONE, text(r.get("t19")),
                "the output (stderr first: the shell exited non-zero), then on a line of its own that the shell is gone");
        assertEquals(Toolset.COMMAND_NOT_RUN, text(r.get("t20")));
        String big = text(r.get("t05"));
        assertTrue(big.contains(" lines truncated] Full output saved to: /tmp/bash-output/") && !big.contains("tail-marker")
                && big.length() < 31_000, "the first 30,000 characters kept, the rest saved: " + big.length() + " chars");
        assertTrue(r.get("t06").get("is_error").asBoolean(), "a non-zero exit is an error");
        assertEquals("red", text(r.get("t06")), "ANSI sequences are stripped");
        assertEquals("alpha\nbeta\n", text(r.get("t08")));
        assertTrue(text(r.get("t09")).contains("1 replacement"));
        assertEquals("gamma", text(r.get("t10")));
        assertEquals("gamma\n", text(r.get("t10b")), "[2, -1] keeps the final newline, as the SDK's split-and-join does");
        assertFalse(r.get("t10d").get("is_error").asBoolean(), text(r.get("t10d")));
        assertEquals("a\uFFFDb", text(r.get("t10d")), "bytes that are not UTF-8 read as U+FFFD, as the SDK reads them");
        assertEquals(List.of("/workspace/notes/a.txt", "/workspace/top.txt"), text(r.get("t11")).lines().sorted().toList(),
                "'**/' matches no directory too, as a shell's globstar does");
        assertEquals("/workspace/notes/a.txt", text(r.get("t11b")), "'**/' in the middle matches no directory too");
        assertEquals("/workspace/notes/a.txt:2:gamma", text(r.get("t12")));
        assertTrue(r.get("t13").get("is_error").asBoolean() && text(r.get("t13")).contains("outside the working directory"), text(r.get("t13")));
        assertTrue(r.get("t15").get("is_error").asBoolean() && text(r.get("t15")).contains("outside the workspace"), text(r.get("t15")));
        assertTrue(r.get("t16").get("is_error").asBoolean() && text(r.get("t16")).contains("outside the workspace"), text(r.get("t16")));
        assertFalse(Files.isRegularFile(Path.of("/tmp/x")) && Files.readString(Path.of("/tmp/x")).equals("no"),
                "the write through a symlink to / did not land on the host");
        assertTrue(text(r.get("t17")).contains("old_string not found"));

        send("sesn_a", "{\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"end_turn\"}}");
        await("the item is stopped", Duration.ofSeconds(30), itemIs("env_a", work, "stopped"));
        await("the sandbox is destroyed", Duration.ofSeconds(10), () -> sandboxes.list().isEmpty());
        String log = auditText();
        assertTrue(log.contains("\"worker.tool\"") && log.contains("\"tool_use_id\":\"t02\""), "every tool call is audited");
        assertTrue(log.contains("\"event\":\"acked\""), log);
        assertFalse(log.contains(Files.readString(dir.resolve("env_a.key"))), "the key never reaches the audit log");
    }

    @Test
    void aToolTheLocalPolicyDeniesIsAnsweredAsAnErrorNamingTheRule() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_d", "", List.of("bash"))), sandboxes, audit, approvals);
        enqueue("env_d", "sesn_d");
        send("sesn_d", tool("d1", "bash", "{\"command\":\"echo should-not-run > ran.txt\"}"),
                tool("d2", "glob", "{\"pattern\":\"*.txt\"}"));
        await("2 results", Duration.ofSeconds(60), resultsAtLeast("sesn_d", 2));
        Map<String, JsonNode> r = results("sesn_d");
        assertTrue(r.get("d1").get("is_error").asBoolean());
        assertTrue(text(r.get("d1")).contains("denied by the local policy (environments[].tools.deny"), text(r.get("d1")));
        assertEquals("no matches", text(r.get("d2")), "the denied command never ran");
        assertTrue(auditText().contains("\"outcome\":\"denied\""));
        assertTrue(auditText().contains("policy.denied"), "a policy.denied record too");
        assertTrue(auditText().contains("\"rule\":\"environments[].tools.deny\""), auditText());
    }

    @Test
    void aToolCallTakesACommandSlotOfTheCoreAndWaitsWhileEveryOneIsHeld() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_a", "", List.of())), sandboxes, audit, approvals);
        int slots = sandboxes.policy().maxConcurrentCommands();
        sandboxes.commands().acquire(slots); // what airlock.v1 commands running would hold
        try {
            enqueue("env_a", "sesn_a");
            send("sesn_a", tool("a1", "bash", "{\"command\":\"echo ran\"}"));
            Thread.sleep(2000);
            assertTrue(results("sesn_a").isEmpty(), "no call runs while policy.max_concurrent_commands are all taken");
        } finally {
            sandboxes.commands().release(slots);
        }
        await("a1 answered once a slot is free", Duration.ofSeconds(30), resultsAtLeast("sesn_a", 1));
        assertEquals("ran", text(results("sesn_a").get("a1")));
        assertEquals(slots, sandboxes.commands().availablePermits(), "the call gave its slot back");
    }

    @Test
    void aLostLeaseEndsTheWorkMidToolAndDestroysTheSandbox() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_l", "", List.of())), sandboxes, audit, approvals);
        String work = enqueue("env_l", "sesn_l");
        send("sesn_l", tool("l1", "bash", "{\"command\":\"sleep 60\",\"timeout_ms\":90000}"));
        await("the sandbox runs", Duration.ofSeconds(30), () -> !sandboxes.list().isEmpty());
        Thread.sleep(500);
        platform.stopExtending("env_l", work);
        await("the sandbox is destroyed", Duration.ofSeconds(30), () -> sandboxes.list().isEmpty());
        assertTrue(results("sesn_l").isEmpty(), "no result is posted once the lease is lost");
        assertTrue(auditText().contains("no longer extends the lease"));
        await("the item is stopped", Duration.ofSeconds(10), itemIs("env_l", work, "stopped"));
    }

    @Test
    void aTerminatedSessionStopsItsRunningCommandAtOnceWithANoticeThatItWasStopped() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_t", "", List.of())), sandboxes, audit, approvals);
        String work = enqueue("env_t", "sesn_t");
        send("sesn_t", tool("t1", "bash", "{\"command\":\"echo started > began.txt; sleep 47\",\"timeout_ms\":90000}"),
                tool("t2", "bash", "{\"command\":\"echo never\"}"));
        await("the command runs", Duration.ofSeconds(30), () -> audited("\"event\":\"acked\""));
        Thread.sleep(1500);
        send("sesn_t", "{\"type\":\"session.status_terminated\"}");
        // 47 s if the termination waited for the command: well within that, the result says it was stopped.
        await("the stopped call's notice", Duration.ofSeconds(15), resultsAtLeast("sesn_t", 1));
        JsonNode r = results("sesn_t").get("t1");
        assertTrue(r.get("is_error").asBoolean(), r.toString());
        assertEquals("tool 'bash' was stopped, and may have already done some or all of its work", text(r));
        await("the sandbox is destroyed", Duration.ofSeconds(30), () -> sandboxes.list().isEmpty());
        assertFalse(results("sesn_t").containsKey("t2"), "a call queued behind the termination never runs");
        await("the item is stopped", Duration.ofSeconds(30), itemIs("env_t", work, "stopped"));
    }

    @Test
    void onlyCallsTheSessionWaitsOnRunAsTheSdksSessionRunnerDecides() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_w", "", List.of())), sandboxes, audit, approvals);
        enqueue("env_w", "sesn_w");
        send("sesn_w", tool("w4", "bash", "{\"command\":\"echo allowed\"}"),
                // Not evaluated by the platform: run only once an idle lists them.
                "{\"type\":\"agent.tool_use\",\"id\":\"w1\",\"name\":\"bash\",\"input\":{\"command\":\"echo listed\"},\"evaluated_permission\":null}",
                "{\"type\":\"agent.tool_use\",\"id\":\"w2\",\"name\":\"bash\",\"input\":{\"command\":\"echo never\"},\"evaluated_permission\":null}",
                // Refused by the platform: never run, never answered.
                "{\"type\":\"agent.tool_use\",\"id\":\"w3\",\"name\":\"bash\",\"input\":{\"command\":\"echo denied\"},\"evaluated_permission\":\"deny\"}");
        await("the allowed call's result", Duration.ofSeconds(60), resultsAtLeast("sesn_w", 1));
        Thread.sleep(500);
        assertEquals(java.util.Set.of("w4"), results("sesn_w").keySet(), "unevaluated calls wait for an idle; a denied one never runs");
        send("sesn_w", "{\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"requires_action\",\"event_ids\":[\"w1\"]}}");
        await("the listed call's result", Duration.ofSeconds(60), resultsAtLeast("sesn_w", 2));
        Map<String, JsonNode> r = results("sesn_w");
        assertEquals("listed", text(r.get("w1")));
        assertEquals("allowed", text(r.get("w4")));
        assertFalse(r.containsKey("w2") || r.containsKey("w3"), r.toString());
        assertTrue(auditText().contains("\"denied_by_platform\""));
    }

    @Test
    void aStaleHeartbeatGets412AndTheWorkEnds() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_s", "", List.of())), sandboxes, audit, approvals);
        String work = enqueue("env_s", "sesn_s");
        // Taken over once this worker holds it (acked and heartbeating): an ack would start the lease afresh.
        await("the item is active", Duration.ofSeconds(30), itemIs("env_s", work, "active"));
        platform.takeLease("env_s", work);
        await("the sandbox is destroyed", Duration.ofSeconds(30), () -> sandboxes.list().isEmpty());
        assertTrue(auditText().contains("another heartbeat holds the lease (412"), auditText());
        await("the session's teardown is audited", Duration.ofSeconds(30), () -> audited("\"event\":\"stopped\""));
        assertEquals("active", item("env_s", work),
                "a lost lease leaves the item to whoever holds it now: it is not stopped");
        assertTrue(auditText().contains("\"item_stopped\":\"no (the lease was lost"), auditText());
    }

    @Test
    void aHealthcheckItemIsAckedClaimedProbedAndStoppedAndPollingGoesOn() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_h", "", List.of())), sandboxes, audit, approvals);
        String check = platform.enqueueHealthcheck("env_h");
        await("the healthcheck is stopped", Duration.ofSeconds(30), itemIs("env_h", check, "stopped"));
        JsonNode item = platform.item("env_h", check);
        assertFalse(item.path("acknowledged_at").isNull(), "acked first: " + item);
        assertFalse(item.path("latest_heartbeat_at").isNull(), "claimed with a heartbeat: " + item);
        await("the healthcheck is audited", Duration.ofSeconds(10), () -> audited("\"worker.healthcheck\""));
        String log = auditText();
        assertTrue(log.contains("\"probe\":\"ok (driver") && log.contains("\"item_stopped\":\"yes\""), log);
        // The poll loop goes on: a session queued after it is served.
        enqueue("env_h", "sesn_h");
        send("sesn_h", tool("h1", "bash", "{\"command\":\"echo after-check\"}"));
        await("the session's result", Duration.ofSeconds(60), resultsAtLeast("sesn_h", 1));
        assertEquals("after-check", text(results("sesn_h").get("h1")));
        assertTrue(worker.ready(), "ready after a healthcheck");
    }

    @Test
    void aRestartDestroysTheSandboxesAPreviousRunLeftButLeavesTheirItemsToTheirHolders() throws Exception {
        WorkerEnvironment env = environment("env_r", "", List.of());
        String work = enqueue("env_r", "sesn_r");
        // Another worker holds the item (acked, heartbeating); a previous run of this one left a sandbox for it.
        Credential key = Credential.readKeyFile(env.keyFile());
        WorkQueueApi other = new WorkQueueApi(URI.create(server.url()), "env_r", java.net.http.HttpClient.newHttpClient());
        other.ack(key, work);
        other.heartbeat(key, work, WorkQueueApi.NO_HEARTBEAT, 120, Duration.ofSeconds(10));
        sandboxes.provision(SessionWorker.sandboxIdOf(work), "", "", "", io.airlock.driver.ResourceLimits.NONE, Map.of(),
                Map.of(SessionWorker.LABEL_ENVIRONMENT, "env_r", SessionWorker.LABEL_WORK, work), List.of(), List.of());
        String before = item("env_r", work);
        worker = WorkerConnector.start(List.of(env), sandboxes, audit, approvals);
        await("the leftover sandbox is destroyed", Duration.ofSeconds(30), () -> sandboxes.list().isEmpty());
        await("the leftover is audited", Duration.ofSeconds(10), () -> audited("leftover_destroyed"));
        assertEquals(before, item("env_r", work), "the item another worker serves is not stopped");
    }

    private boolean audited(String text) {
        try {
            return auditText().contains(text);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aSandboxThatCannotBeMadeIsNeverAckedAndTheItemIsStopped() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_f", "no-such-driver", List.of())), sandboxes, audit, approvals);
        String work = enqueue("env_f", "sesn_f");
        await("the item is stopped", Duration.ofSeconds(30), itemIs("env_f", work, "stopped"));
        assertTrue(platform.item("env_f", work).get("acknowledged_at").isNull(), "never acked");
        assertTrue(auditText().contains("\"event\":\"provision_failed\""));
    }

    @Test
    void aSkillIsDeliveredIntoTheWorkdirAndAHostileOneIsRefused() throws Exception {
        worker = null;
        WorkerEnvironment env = environment("env_k", "", List.of());
        enqueue("env_k", "sesn_k");
        platform.addSkill("sesn_k", "pdf-tools", Archives.zip("pdf-tools/SKILL.md", "# PDF tools\n"));
        platform.addSkill("sesn_k", "evil", Archives.tarWithEscape());
        platform.addSkill("sesn_k", "pdf-tools", Archives.zip("pdf-tools/SKILL.md", "# a second one of that name\n"));
        send("sesn_k", tool("k1", "bash", "{\"command\":\"find skills -type f | sort; cat skills/pdf-tools/SKILL.md; ls /tmp/escaped 2>&1 | head -1\"}"));
        worker = WorkerConnector.start(List.of(env), sandboxes, audit, approvals);
        await("1 result", Duration.ofSeconds(60), resultsAtLeast("sesn_k", 1));
        String out = text(results("sesn_k").get("k1"));
        assertTrue(out.startsWith("skills/pdf-tools/SKILL.md"), "the archive's wrapping directory is stripped: " + out);
        assertFalse(out.contains("skills/evil/"), out);
        assertTrue(out.contains("# PDF tools") && !out.contains("a second one"), "of two skills with one name the first is kept: " + out);
        assertTrue(auditText().contains("skipped: an earlier skill was installed in skills/pdf-tools"), auditText());
        assertTrue(auditText().contains("\"skill_id\"") && auditText().contains("refused"), "the hostile skill is audited as refused");
    }

    @Test
    void aMemoryStoreIsSyncedBothWaysTheServerWinningAConflictAndAReadOnlyOneOnlyPulls() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_m", "", List.of())), sandboxes, audit, approvals);
        String rw = platform.createMemoryStore();
        platform.putMemory(rw, "/notes/a.md", "remote-1");
        platform.putMemory(rw, "/notes/c.md", "both-0");
        String ro = platform.createMemoryStore();
        platform.putMemory(ro, "/guide.md", "read me");
        platform.attachMemoryStore("sesn_m", rw, "/workspace/memory/team", "read_write");
        platform.attachMemoryStore("sesn_m", ro, "/mnt/memory/guide", "read_only");
        String roDir = "/mnt/memory/guide";
        enqueue("env_m", "sesn_m");
        send("sesn_m", tool("m1", "read", "{\"file_path\":\"/workspace/memory/team/notes/a.md\"}"),
                // Over the API's 100 kB: refused (413) on every pass; the store's other files must sync all the same.
                tool("m1b", "write", "{\"file_path\":\"memory/team/big.md\",\"content\":\"" + "x".repeat(150_000) + "\"}"),
                tool("m2", "write", "{\"file_path\":\"memory/team/notes/b.md\",\"content\":\"local-1\"}"),
                tool("m3", "read", "{\"file_path\":\"" + roDir + "/guide.md\"}"),
                tool("m4", "write", "{\"file_path\":\"" + roDir + "/guide.md\",\"content\":\"local edit\"}"),
                tool("m5", "write", "{\"file_path\":\"memory/team/notes/c.md\",\"content\":\"local-c\"}"));
        await("6 results", Duration.ofSeconds(60), resultsAtLeast("sesn_m", 6));
        Map<String, JsonNode> r = results("sesn_m");
        assertEquals("remote-1", text(r.get("m1")), "the store is pulled before the first call");
        assertEquals("read me", text(r.get("m3")));
        assertTrue(r.get("m4").get("is_error").asBoolean() && text(r.get("m4")).contains("is inside read-only directory /mnt/memory/guide"),
                "the file tools refuse a write into a read-only store, as the SDK's: " + text(r.get("m4")));
        // Meanwhile on the platform: a changes there only; c changes there too (a conflict).
        platform.putMemory(rw, "/notes/a.md", "remote-2");
        platform.putMemory(rw, "/notes/c.md", "remote-c");
        send("sesn_m", tool("m6", "read", "{\"file_path\":\"memory/team/notes/a.md\"}"),
                tool("m7", "read", "{\"file_path\":\"memory/team/notes/c.md\"}"));
        await("8 results", Duration.ofSeconds(60), resultsAtLeast("sesn_m", 8));
        r = results("sesn_m");
        assertEquals("remote-2", text(r.get("m6")), "a remote change is pulled");
        assertEquals("remote-c", text(r.get("m7")), "both changed: the server wins");
        Map<String, String> team = platform.memories(rw);
        assertEquals("local-1", team.get("/notes/b.md"), "a local file is pushed: " + team);
        assertEquals("remote-c", team.get("/notes/c.md"));
        assertFalse(team.containsKey("/big.md"), "the platform refused the big file");
        assertEquals(Map.of("/guide.md", "read me"), platform.memories(ro), "a read-only store never pushes");
        String log = auditText();
        assertTrue(log.contains("\"conflicts_server_won\":[\"notes/c.md\"]"), "the dropped local edit is audited");
        assertTrue(log.contains("\"refused_by_server\":[\"big.md\"]"), "the refused file is audited once: " + log);
        assertFalse(log.contains("\"event\":\"sync_failed\""), "one refused file does not fail the store's sync");
        assertTrue(log.contains("\"event\":\"mounted\""));
    }

    @Test
    void aMemoryStoreIsAtItsMountPathForBashAndTheFileToolsAndComesBackWhenItsDirectoryIsEmptied() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_mp", "", List.of())), sandboxes, audit, approvals);
        String store = platform.createMemoryStore();
        platform.putMemory(store, "/todo.md", "buy milk");
        platform.putMemory(store, "/g/deep/old.md", "old");
        platform.attachMemoryStore("sesn_mp", store, "/mnt/memory/notes", "read_write");
        enqueue("env_mp", "sesn_mp");
        send("sesn_mp", tool("b1", "bash", "{\"command\":\"cat /mnt/memory/notes/todo.md\"}"),
                tool("r1", "read", "{\"file_path\":\"/mnt/memory/notes/todo.md\"}"),
                tool("b2", "bash", "{\"command\":\"echo from-bash > /mnt/memory/notes/g/new.md\"}"),
                tool("w1", "write", "{\"file_path\":\"/mnt/memory/notes/tool.md\",\"content\":\"from-write\"}"),
                tool("g1", "glob", "{\"pattern\":\"g/**/*.md\",\"path\":\"/mnt/memory/notes\"}"),
                tool("x1", "read", "{\"file_path\":\"/mnt/memory/other/x.md\"}"));
        await("6 results", Duration.ofSeconds(60), resultsAtLeast("sesn_mp", 6));
        Map<String, JsonNode> r = results("sesn_mp");
        assertEquals("buy milk", text(r.get("b1")).strip(), "bash reads the store at its mount path: " + r.get("b1"));
        assertEquals("buy milk", text(r.get("r1")), "read reaches the store at its mount path: " + r.get("r1"));
        assertFalse(r.get("w1").get("is_error").asBoolean(), text(r.get("w1")));
        assertEquals(Set.of("/mnt/memory/notes/g/new.md", "/mnt/memory/notes/g/deep/old.md"), Set.of(text(r.get("g1")).split("\n")),
                "glob walks the store: " + text(r.get("g1")));
        assertTrue(text(r.get("x1")).contains("outside the working directory /workspace and the memory stores /mnt/memory/notes"),
                "only the store's own path is reachable: " + text(r.get("x1")));
        // The next call syncs: what bash and write put there goes up.
        send("sesn_mp", tool("b3", "bash", "{\"command\":\"true\"}"));
        await("7 results", Duration.ofSeconds(60), resultsAtLeast("sesn_mp", 7));
        await("the store's new files reach the platform", Duration.ofSeconds(30),
                () -> {
                    Map<String, String> now = memories(store);
                    return "from-bash\n".equals(now.get("/g/new.md")) && "from-write".equals(now.get("/tool.md"));
                });
        // An emptied directory is not the agent deleting every memory: it is filled again.
        send("sesn_mp", tool("b4", "bash", "{\"command\":\"rm -rf /mnt/memory/notes/* /mnt/memory/notes/.[a-z]*\"}"),
                tool("b5", "bash", "{\"command\":\"cat /mnt/memory/notes/todo.md\"}"));
        await("9 results", Duration.ofSeconds(60), resultsAtLeast("sesn_mp", 9));
        assertEquals("buy milk", text(results("sesn_mp").get("b5")).strip(), "the store came back: " + results("sesn_mp").get("b5"));
        Map<String, String> kept = platform.memories(store);
        assertEquals(Set.of("/todo.md", "/g/deep/old.md", "/g/new.md", "/tool.md"), kept.keySet(), "nothing was deleted on the platform");
        String log = auditText();
        assertTrue(log.contains("\"mount_path\":\"/mnt/memory/notes\",\"directory\":\"/mnt/memory/notes\",\"at_mount_path\":true"),
                "the audit record says where the store is: " + log);
        assertTrue(log.contains("\"event\":\"restored\""), "the refill is audited");
    }

    @Test
    void bashAnswersAsTheSdksShellStderrFirstOnFailureAndALongOutputCutWithTheWholeSavedForRead() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_o", "", List.of())), sandboxes, audit, approvals);
        enqueue("env_o", "sesn_o");
        send("sesn_o", tool("o1", "bash", "{\"command\":\"echo out; echo err >&2; false\"}"),
                tool("o2", "bash", "{\"command\":\"echo out; echo err >&2\"}"),
                tool("o3", "bash", "{\"command\":\"seq 1 20000\"}"),
                threaded(tool("o4", "bash", "{\"command\":\"cd /tmp && pwd\"}"), "sthr_1"),
                tool("o5", "bash", "{\"command\":\"pwd\"}"));
        await("5 results", Duration.ofSeconds(60), resultsAtLeast("sesn_o", 5));
        Map<String, JsonNode> r = results("sesn_o");
        assertTrue(r.get("o1").get("is_error").asBoolean());
        assertEquals("err\n\nout", text(r.get("o1")), "a failure puts stderr first");
        assertEquals("out\n\nerr", text(r.get("o2")));
        String longOut = text(r.get("o3"));
        java.util.regex.Matcher saved = java.util.regex.Pattern.compile("\\.\\.\\. \\[(\\d+) lines truncated\\] Full output saved to: "
                + "(/tmp/bash-output/[0-9a-f-]+\\.txt) \u2014 use read with view_range to read specific portions\\. \\.\\.\\.$").matcher(longOut);
        assertTrue(saved.find(), "the answer ends naming the saved file: " + longOut.substring(Math.max(0, longOut.length() - 300)));
        assertTrue(longOut.startsWith("1\n2\n3\n"), "the start is kept");
        assertEquals("/tmp", text(r.get("o4")));
        assertEquals("/workspace", text(r.get("o5")), "a thread's cd is not seen by the session's own shell");
        send("sesn_o", tool("o6", "read", "{\"file_path\":\"" + saved.group(2) + "\",\"view_range\":[19999,20000]}"),
                tool("o7", "write", "{\"file_path\":\"" + saved.group(2) + "\",\"content\":\"x\"}"));
        await("7 results", Duration.ofSeconds(60), resultsAtLeast("sesn_o", 7));
        r = results("sesn_o");
        assertEquals("19999\n20000", text(r.get("o6")).strip(), "the whole output is in the saved file: " + r.get("o6"));
        assertTrue(text(r.get("o7")).contains("is inside read-only directory /tmp/bash-output"), text(r.get("o7")));
    }

    @Test
    void aResultTheApiRefusesIsReplacedByAnErrorResultSayingSo() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_rr", "", List.of())), sandboxes, audit, approvals);
        enqueue("env_rr", "sesn_rr");
        platform.refuseResults("sesn_rr", 1, 413);
        send("sesn_rr", tool("rr1", "bash", "{\"command\":\"echo hello\"}"), tool("rr2", "bash", "{\"command\":\"echo again\"}"));
        await("2 results", Duration.ofSeconds(60), resultsAtLeast("sesn_rr", 2));
        Map<String, JsonNode> r = results("sesn_rr");
        assertTrue(r.get("rr1").get("is_error").asBoolean(), "the call is answered, as an error: " + r.get("rr1"));
        assertEquals("The API refused the result of tool 'bash': 413 the tool result is too large", text(r.get("rr1")));
        assertEquals("again", text(r.get("rr2")), "the next result goes as it is");
        assertTrue(auditText().contains("\"event\":\"result_refused\""), "the replacement is audited");
    }

    @Test
    void aSessionWhoseSandboxThePolicyReapsEndsWithItsMemorySavedAndItsItemStopped() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_rp", "", List.of())), sandboxes, audit, approvals);
        String store = platform.createMemoryStore();
        platform.attachMemoryStore("sesn_rp", store, "/mnt/memory/reaped", "read_write");
        String workId = enqueue("env_rp", "sesn_rp");
        send("sesn_rp", tool("rp1", "bash", "{\"command\":\"echo kept > /mnt/memory/reaped/late.md\"}"));
        await("rp1 answered", Duration.ofSeconds(60), resultsAtLeast("sesn_rp", 1));
        try (io.airlock.core.sandbox.SandboxReaper reaper = new io.airlock.core.sandbox.SandboxReaper(sandboxes, Duration.ofSeconds(2), null,
                Clock.systemUTC())) {
            await("the item is stopped", Duration.ofSeconds(60), itemIs("env_rp", workId, "stopped"));
        }
        assertEquals("kept\n", platform.memories(store).get("/late.md"), "what the agent wrote since the last sync is saved first");
        assertTrue(sandboxes.list().isEmpty(), "the sandbox is gone");
        String log = auditText();
        assertTrue(log.contains("sandbox_reaped: older than policy.max_lifetime (2s)"), "the stop says why: " + log);
    }

    private static String threaded(String toolUse, String thread) {
        return toolUse.substring(0, toolUse.length() - 1) + ",\"session_thread_id\":\"" + thread + "\"}";
    }

    @Test
    void aToolThatNeedsLocalApprovalRunsOnlyWhenAnOperatorAllowsIt() throws Exception {
        worker = WorkerConnector.start(List.of(environment("env_p", "", new WorkerEnvironment.Tools(List.of(), List.of("write"),
                Duration.ofSeconds(2)))), sandboxes, audit, approvals);
        enqueue("env_p", "sesn_p");
        send("sesn_p", tool("p1", "write", "{\"file_path\":\"allowed.txt\",\"content\":\"yes\"}"));
        await("p1 waits for approval", Duration.ofSeconds(30), () -> pendingIs("p1"));
        assertTrue(results("sesn_p").isEmpty(), "nothing runs before the approval");
        assertTrue(approvals.decide("p1", true));
        await("p1 answered", Duration.ofSeconds(30), resultsAtLeast("sesn_p", 1));
        send("sesn_p", tool("p2", "write", "{\"file_path\":\"refused.txt\",\"content\":\"no\"}"));
        await("p2 waits for approval", Duration.ofSeconds(30), () -> pendingIs("p2"));
        assertTrue(approvals.decide("p2", false));
        await("p2 answered", Duration.ofSeconds(30), resultsAtLeast("sesn_p", 2));
        send("sesn_p", tool("p3", "write", "{\"file_path\":\"expired.txt\",\"content\":\"no\"}"),
                tool("p4", "glob", "{\"pattern\":\"*.txt\"}"));
        await("p3 and p4 answered", Duration.ofSeconds(30), resultsAtLeast("sesn_p", 4));
        Map<String, JsonNode> r = results("sesn_p");
        assertFalse(r.get("p1").get("is_error").asBoolean(), text(r.get("p1")));
        assertTrue(text(r.get("p2")).contains("refused by an operator on the worker's host"), text(r.get("p2")));
        assertTrue(text(r.get("p3")).contains("not approved on the worker's host within 2 s"), text(r.get("p3")));
        assertEquals("/workspace/allowed.txt", text(r.get("p4")), "only the approved write happened");
        assertTrue(auditText().contains("\"event\":\"approval_allow\"") && auditText().contains("\"event\":\"approval_expired\""));
        assertTrue(approvals.pending().isEmpty());
    }

    private Map<String, String> memories(String store) {
        try {
            return platform.memories(store);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private boolean pendingIs(String id) {
        try {
            return approvals.pending().stream().anyMatch(p -> p.getFileName().toString().equals(id + ".json"));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
