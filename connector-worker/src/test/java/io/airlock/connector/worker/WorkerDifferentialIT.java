package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.controlplane.workqueue.RequestLog;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.LocalPolicy;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SDK's own worker and Airlock's serve the same scripted sessions on one reference queue, each
 * in an environment of its own: the SDK's {@code EnvironmentWorker.run} unchanged (the version
 * mcp-peers/package.json pins; its tools run on this host in a temporary workdir), Airlock's in
 * bubblewrap sandboxes. The test compares, per endpoint, the requests each sent (query, the
 * headers the API needs, the credential, the body's shape) and, per call, the tool results
 * ({@code is_error}; the text of every answer that is not an error, the SDK's workdir read as
 * {@code /workspace}). Every difference must be listed, with its reason, in the table of
 * docs/serving-environments.md; an unlisted one fails the test, and so does a listed one that no
 * longer shows (the table stays true).
 */
class WorkerDifferentialIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SAVED = Pattern.compile("saved to: (\\S+) \u2014");
    private static final Pattern ROW = Pattern.compile("^\\| `([^`]+)` \\|", Pattern.MULTILINE);

    @TempDir
    Path dir;
    private WorkQueueServer server;
    private WorkQueueScript platform;
    private AuditLog audit;
    private SandboxDriver driver;
    private WorkerConnector airlock;
    private Process sdk;
    private final ByteArrayOutputStream sdkOutput = new ByteArrayOutputStream();
    /** A mount path neither side has yet: the SDK makes it on this host, Airlock in its sandbox. */
    private final String mountPath = "/tmp/airlock-differential-" + System.nanoTime() + "/notes";

    private static Path peers() {
        return Path.of(System.getProperty("airlock.mcpPeers", "../mcp-peers")).toAbsolutePath().normalize();
    }

    private static Path docs() {
        return Path.of(System.getProperty("airlock.docs", "../docs")).toAbsolutePath().normalize();
    }

    @BeforeEach
    void start() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        Prerequisites.requireExecutable("node", "install Debian's nodejs");
        Path sdkPackage = peers().resolve("node_modules/@anthropic-ai/sdk/package.json");
        Prerequisites.require("the npm packages of mcp-peers/", Files.exists(sdkPackage) ? Optional.empty()
                : Optional.of(sdkPackage + " is missing; run 'npm install --no-package-lock' in " + peers()));
        String apiKey = "apikey_" + System.nanoTime();
        server = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC());
        platform = new WorkQueueScript(server.url(), apiKey);
        audit = AuditLog.open(dir.resolve("audit"), 1 << 22, AuditLog.Durability.EACH, Duration.ofMillis(10));
        driver = new BubblewrapDriverProvider().create(new DriverContext("differential", dir.resolve("driver"), Map.of()));
    }

    @AfterEach
    void stop() throws Exception {
        if (sdk != null) {
            sdk.destroyForcibly();
        }
        if (airlock != null) {
            airlock.close();
        }
        driver.close();
        server.close();
        audit.close();
    }

    private void startSdk(String key) throws IOException {
        Path workdir = Files.createDirectories(dir.resolve("sdk-workdir"));
        ProcessBuilder pb = new ProcessBuilder(Prerequisites.findOnPath("node").orElseThrow().toString(),
                peers().resolve("workqueue-sdk-worker.mjs").toString()).directory(peers().toFile()).redirectErrorStream(true);
        pb.environment().putAll(Map.of("BASE_URL", server.url(), "ENV_ID", "env_sdk", "ENV_KEY", key, "WORKDIR", workdir.toString(),
                "MAX_IDLE_MS", "1000", "WORKER_ID", "sdk-differential"));
        sdk = pb.start();
        Thread.ofVirtual().start(() -> {
            try {
                sdk.getInputStream().transferTo(sdkOutput);
            } catch (IOException ignored) {
                // the process ended
            }
        });
    }

    private void startAirlock(String key) throws Exception {
        Path keyFile = dir.resolve("env_air.key");
        Files.writeString(keyFile, key);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        var config = ConfigLoader.parse("policy: {exec: {max_timeout: 10m}}", "test");
        SandboxService sandboxes = new SandboxService(DriverRegistry.of(List.of(driver)), new LocalPolicy(config.policy()), (s, st, why) -> { });
        WorkerEnvironment env = new WorkerEnvironment(URI.create(server.url()), "env_air", keyFile, "airlock-differential", 4, "", "",
                new WorkerEnvironment.Tools(List.of()), Duration.ofSeconds(30), Duration.ofSeconds(1));
        airlock = WorkerConnector.start(List.of(env), sandboxes, audit, new Approvals(dir.resolve("approvals")));
    }

    private static ObjectNode tool(String id, String name, String input) throws IOException {
        return (ObjectNode) JSON.readTree("{\"type\":\"agent.tool_use\",\"id\":\"" + id + "\",\"name\":\"" + name + "\",\"input\":" + input + "}");
    }

    private static ObjectNode threaded(ObjectNode toolUse, String thread) {
        return toolUse.put("session_thread_id", thread);
    }

    private static ObjectNode event(String json) throws IOException {
        return (ObjectNode) JSON.readTree(json);
    }

    /** The calls of the main session, the same for both sides. */
    private List<ObjectNode> mainCalls() throws IOException {
        String mem = mountPath;
        return List.of(
                tool("bash_cd", "bash", "{\"command\":\"mkdir -p sub && cd sub && echo in-sub\"}"),
                tool("bash_state", "bash", "{\"command\":\"basename $(pwd)\"}"),
                tool("bash_fail", "bash", "{\"command\":\"echo to-out; echo to-err >&2; false\"}"),
                tool("bash_long", "bash", "{\"command\":\"seq 1 20000\"}"),
                tool("write_1", "write", "{\"file_path\":\"notes.txt\",\"content\":\"alpha\\nbeta\\nalpha\\n\"}"),
                tool("read_1", "read", "{\"file_path\":\"notes.txt\"}"),
                tool("read_range", "read", "{\"file_path\":\"notes.txt\",\"view_range\":[2,3]}"),
                tool("read_range_end", "read", "{\"file_path\":\"notes.txt\",\"view_range\":[2,-1]}"),
                tool("edit_unique", "edit", "{\"file_path\":\"notes.txt\",\"old_string\":\"beta\",\"new_string\":\"gamma\"}"),
                tool("edit_ambiguous", "edit", "{\"file_path\":\"notes.txt\",\"old_string\":\"alpha\",\"new_string\":\"x\"}"),
                tool("edit_all", "edit", "{\"file_path\":\"notes.txt\",\"old_string\":\"alpha\",\"new_string\":\"delta\",\"replace_all\":true}"),
                tool("read_2", "read", "{\"file_path\":\"notes.txt\"}"),
                tool("write_big", "bash", "{\"command\":\"cd .. && yes abcdefghij | head -c 200000 > big.txt; echo done\"}"),
                tool("read_big", "read", "{\"file_path\":\"big.txt\"}"),
                tool("write_g", "write", "{\"file_path\":\"g/new.md\",\"content\":\"new\\n\"}"),
                tool("glob_mid", "glob", "{\"pattern\":\"g/**/*.md\"}"),
                tool("grep_1", "grep", "{\"pattern\":\"delta\",\"path\":\"notes.txt\"}"),
                tool("escape_read", "read", "{\"file_path\":\"../../etc/passwd\"}"),
                tool("escape_write", "write", "{\"file_path\":\"/etc/airlock-differential\",\"content\":\"x\"}"),
                tool("skill", "bash", "{\"command\":\"cat skills/greet/SKILL.md\"}"),
                tool("memory_read", "read", "{\"file_path\":\"" + mem + "/todo.md\"}"),
                tool("memory_bash", "bash", "{\"command\":\"cat " + mem + "/todo.md; echo from-bash > " + mem + "/bash.md\"}"),
                tool("bash_timeout", "bash", "{\"command\":\"sleep 5\",\"timeout_ms\":1000}"),
                tool("bash_after_timeout", "bash", "{\"command\":\"echo after\"}"),
                tool("bash_restart", "bash", "{\"restart\":true}"),
                tool("bash_exit", "bash", "{\"command\":\"exit 0\"}"),
                tool("bash_after_exit", "bash", "{\"command\":\"echo after\"}"));
    }

    private static final List<String> SIDES = List.of("sdk", "air");
    private final Map<String, List<String>> items = new TreeMap<>();
    /** side -> scenario -> its work item id and session id. */
    private final Map<String, Map<String, List<String>>> scenarios = new TreeMap<>();

    /** Enqueues one session on each side with the same calls; returns nothing until both are queued. */
    private void enqueue(String name, List<ObjectNode> calls, boolean withResources) throws Exception {
        for (String side : SIDES) {
            String session = "sesn_" + side + "_" + name;
            if (withResources) {
                String store = platform.createMemoryStore();
                platform.putMemory(store, "/todo.md", "buy milk");
                platform.attachMemoryStore(session, store, mountPath, "read_write");
                platform.addSkill(session, "greet", Archives.zip("greet/SKILL.md", "# Greet\n"));
            }
            String work = platform.enqueue("env_" + side, session);
            items.computeIfAbsent("env_" + side, k -> new ArrayList<>()).add(work);
            scenarios.computeIfAbsent(side, k -> new TreeMap<>()).put(name, List.of(work, session));
            platform.send(session, calls);
        }
    }

    private void idle(String name) throws Exception {
        for (String side : SIDES) {
            platform.send("sesn_" + side + "_" + name,
                    List.of(event("{\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"end_turn\"}}")));
        }
    }

    private void awaitResults(String name, int n) throws InterruptedException {
        for (String side : SIDES) {
            await(side + ": " + n + " answers in " + name, Duration.ofSeconds(120), () -> results("sesn_" + side + "_" + name).size() >= n);
        }
    }

    private void awaitStopped() throws InterruptedException {
        for (String side : SIDES) {
            await(side + ": every item stopped", Duration.ofSeconds(90), () -> allStopped("env_" + side));
        }
    }

    /**
     * The SDK's worker serves one item at a time, so the sessions come one after another, each on
     * both sides at once: the toolset at large with a skill and a memory store; two session
     * threads; a session terminated during a command; a healthcheck item.
     */
    @Test
    void theSdkWorkerAndAirlocksServeTheSameSessionsAlikeSaveForTheListedDifferences() throws Exception {
        String sdkKey = platform.createEnvironment("env_sdk");
        String airKey = platform.createEnvironment("env_air");
        startSdk(sdkKey);
        startAirlock(airKey);
        List<ObjectNode> main = mainCalls();
        enqueue("main", main, true);
        awaitResults("main", main.size());
        // The long output's saved file, read back where each side's answer says it is.
        for (String side : SIDES) {
            Matcher saved = SAVED.matcher(text(results("sesn_" + side + "_main").get("bash_long")));
            assertTrue(saved.find(), side + " names the saved output: " + text(results("sesn_" + side + "_main").get("bash_long")));
            platform.send("sesn_" + side + "_main", List.of(tool("read_saved", "read",
                    "{\"file_path\":\"" + saved.group(1) + "\",\"view_range\":[19995,20000]}")));
        }
        awaitResults("main", main.size() + 1);
        idle("main");
        awaitStopped();

        enqueue("threads", List.of(threaded(tool("thread_a_cd", "bash", "{\"command\":\"cd /tmp && echo moved\"}"), "sthr_a"),
                threaded(tool("thread_b_pwd", "bash", "{\"command\":\"pwd\"}"), "sthr_b")), false);
        awaitResults("threads", 2);
        idle("threads");
        awaitStopped();

        enqueue("terminated", List.of(tool("terminated_sleep", "bash", "{\"command\":\"sleep 30\",\"timeout_ms\":60000}")), false);
        Thread.sleep(3000); // both have read the call and begun the sleep
        for (String side : SIDES) {
            platform.send("sesn_" + side + "_terminated", List.of(event("{\"type\":\"session.status_terminated\"}")));
        }
        awaitStopped();

        // A lost lease: someone else heartbeats the item during a command; neither side may stop it or answer.
        enqueue("lease", List.of(tool("lease_sleep", "bash", "{\"command\":\"sleep 40\",\"timeout_ms\":60000}")), false);
        Thread.sleep(3000);
        for (String side : SIDES) {
            platform.takeLease("env_" + side, scenarios.get(side).get("lease").get(0));
        }
        for (String side : SIDES) {
            String work = scenarios.get(side).get("lease").get(0);
            await(side + ": the lost lease is seen (a heartbeat refused 412)", Duration.ofSeconds(60), () -> server.requests().of("env_" + side)
                    .stream().anyMatch(r -> r.ids().contains(work) && r.route().endsWith("/heartbeat") && r.status() == 412));
        }
        Thread.sleep(2000); // what each does after it
        items.get("env_sdk").remove(scenarios.get("sdk").get("lease").get(0));
        items.get("env_air").remove(scenarios.get("air").get("lease").get(0));

        for (String side : SIDES) {
            String hc = platform.enqueueHealthcheck("env_" + side);
            items.get("env_" + side).add(hc);
            scenarios.get(side).put("healthcheck", List.of(hc, hc));
        }
        awaitStopped();
        Thread.sleep(2000); // a last poll or two on each side
        sdk.destroy();
        sdk.waitFor(20, TimeUnit.SECONDS);
        airlock.close();
        airlock = null;

        Map<String, String> found = new TreeMap<>();
        compareRequests(found);
        compareItems(found);
        compareResults(found);
        Set<String> listed = listedDifferences();
        List<String> problems = new ArrayList<>();
        found.forEach((key, what) -> {
            if (!listed.contains(key)) {
                problems.add("unlisted difference `" + key + "`: " + what);
            }
        });
        listed.stream().filter(k -> !found.containsKey(k)).forEach(k -> problems.add("listed difference `" + k + "` no longer shows"));
        assertTrue(problems.isEmpty(), String.join("\n", problems) + "\n(the table is in docs/serving-environments.md)\nSDK worker said:\n"
                + sdkOutput.toString(StandardCharsets.UTF_8));
    }

    /** Per endpoint, the kinds of request each side sent; a kind only one side sent is a difference. */
    private void compareRequests(Map<String, String> found) {
        Map<String, Set<String>> sdkKinds = kinds(server.requests().of("env_sdk"));
        Map<String, Set<String>> airKinds = kinds(server.requests().of("env_air"));
        Set<String> endpoints = new TreeSet<>(sdkKinds.keySet());
        endpoints.addAll(airKinds.keySet());
        for (String endpoint : endpoints) {
            Set<String> s = sdkKinds.getOrDefault(endpoint, Set.of());
            Set<String> a = airKinds.getOrDefault(endpoint, Set.of());
            if (s.isEmpty()) {
                found.put(endpoint + " only airlock", String.join("; ", a));
                continue;
            }
            if (a.isEmpty()) {
                found.put(endpoint + " only sdk", String.join("; ", s));
                continue;
            }
            for (String part : List.of("query", "headers", "credential", "body")) {
                Set<String> sp = part(s, part);
                Set<String> ap = part(a, part);
                if (!sp.equals(ap)) {
                    found.put(endpoint + " " + part, "sdk " + sp + ", airlock " + ap);
                }
            }
        }
    }

    /** Per scenario, the endpoints each side called for its item and session (a stop after a lost lease shows here). */
    private void compareItems(Map<String, String> found) {
        for (String scenario : scenarios.get("sdk").keySet()) {
            Set<String> s = endpoints("env_sdk", scenarios.get("sdk").get(scenario));
            Set<String> a = endpoints("env_air", scenarios.get("air").get(scenario));
            if (!s.equals(a)) {
                found.put("item " + scenario + " endpoints", "sdk " + s + ", airlock " + a);
            }
        }
    }

    private Set<String> endpoints(String env, List<String> ids) {
        Set<String> out = new TreeSet<>();
        for (RequestLog.Request r : server.requests().of(env)) {
            if (r.ids().stream().anyMatch(ids::contains)) {
                out.add(r.method() + " " + r.route());
            }
        }
        return out;
    }

    private static Map<String, Set<String>> kinds(List<RequestLog.Request> requests) {
        Map<String, Set<String>> out = new TreeMap<>();
        for (RequestLog.Request r : requests) {
            if (r.status() >= 400 && r.status() != 409 && r.status() != 412) {
                continue; // a refusal says what the queue thought of a request, not what a worker sends
            }
            out.computeIfAbsent(r.method() + " " + r.route(), k -> new TreeSet<>()).add("query=" + r.query() + "\theaders=version:"
                    + r.anthropicVersion() + ",beta:" + r.anthropicBeta() + ",worker_id:" + r.workerId() + "\tcredential="
                    + r.credential() + "\tbody=" + r.bodyShape());
        }
        return out;
    }

    private static Set<String> part(Set<String> kinds, String name) {
        Set<String> out = new TreeSet<>();
        for (String k : kinds) {
            for (String field : k.split("\t")) {
                if (field.startsWith(name + "=")) {
                    out.add(field.substring(name.length() + 1));
                }
            }
        }
        return out;
    }

    /** Per call: is_error, and the text of an answer that is not an error. */
    private void compareResults(Map<String, String> found) throws Exception {
        String workdir = dir.resolve("sdk-workdir").toString();
        // Both sides' answers, for whoever reads a failure: target/differential/.
        Path shown = Files.createDirectories(Path.of("target", "differential"));
        for (String side : SIDES) {
            ObjectNode all = JSON.createObjectNode();
            for (String session : List.of("main", "threads", "terminated")) {
                results("sesn_" + side + "_" + session).forEach(all::set);
            }
            Files.writeString(shown.resolve(side + "-results.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all));
        }
        for (String session : List.of("main", "threads", "terminated")) {
            Map<String, JsonNode> s = results("sesn_sdk_" + session);
            Map<String, JsonNode> a = results("sesn_air_" + session);
            Set<String> ids = new TreeSet<>(s.keySet());
            ids.addAll(a.keySet());
            for (String id : ids) {
                JsonNode sr = s.get(id);
                JsonNode ar = a.get(id);
                if (sr == null || ar == null) {
                    found.put("result " + id, sr == null ? "only airlock answered: " + brief(text(ar)) : "only the SDK answered: " + brief(text(sr)));
                    continue;
                }
                boolean bash = id.startsWith("bash") || id.startsWith("thread") || id.startsWith("memory_bash") || id.equals("skill");
                boolean se = sr.path("is_error").asBoolean(false);
                boolean ae = ar.path("is_error").asBoolean(false);
                // Where each side saves a long output is its own; that it names the file is compared.
                String st = SAVED.matcher(text(sr).replace(workdir, "/workspace")).replaceAll("saved to: <file> \u2014");
                String at = SAVED.matcher(text(ar)).replaceAll("saved to: <file> \u2014");
                if (se != ae) {
                    found.put("result " + id, "is_error sdk " + se + ", airlock " + ae + ": sdk " + brief(st) + " | airlock " + brief(at));
                } else if ((!se || bash) && !st.equals(at)) {
                    // A bash answer is the command's output either way; the file tools' refusals are worded each their own way.
                    found.put("result " + id, "text: sdk " + brief(st) + " | airlock " + brief(at));
                }
            }
        }
    }

    private static String brief(String s) {
        String one = s.replace("\n", "\\n");
        return one.length() <= 240 ? one : one.substring(0, 120) + " … " + one.substring(one.length() - 100) + " (" + s.length() + " chars)";
    }

    private static String text(JsonNode result) {
        StringBuilder b = new StringBuilder();
        for (JsonNode c : result.path("content")) {
            b.append(c.path("text").asText());
        }
        return b.toString();
    }

    /** The table's first column, in docs/serving-environments.md's section of intended differences. */
    private static Set<String> listedDifferences() throws IOException {
        String doc = Files.readString(docs().resolve("serving-environments.md"));
        int from = doc.indexOf("<!-- differences:begin -->");
        int to = doc.indexOf("<!-- differences:end -->");
        assertTrue(from >= 0 && to > from, "docs/serving-environments.md has the table of differences between its markers");
        Set<String> keys = new TreeSet<>();
        Matcher m = ROW.matcher(doc.substring(from, to));
        while (m.find()) {
            keys.add(m.group(1));
        }
        return keys;
    }

    private Map<String, JsonNode> results(String session) {
        try {
            Map<String, JsonNode> out = new LinkedHashMap<>();
            for (JsonNode e : platform.events(session)) {
                if (e.path("type").asText().equals("user.tool_result")) {
                    out.put(e.path("tool_use_id").asText(), e);
                }
            }
            return out;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private boolean allStopped(String env) {
        try {
            for (String id : items.get(env)) {
                if (!platform.item(env, id).path("state").asText().equals("stopped")) {
                    return false;
                }
            }
            return true;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(String what, Duration max, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + max + " waiting until " + what);
            }
            Thread.sleep(100);
        }
    }
}
