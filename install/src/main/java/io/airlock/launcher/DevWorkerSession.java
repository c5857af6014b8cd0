package io.airlock.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import io.airlock.core.config.ConfigLoader;
import io.airlock.daemon.Daemon;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * {@code airlock dev --worker}: the reference work queue (playing the hosted platform) and a
 * daemon that serves it as a worker, not enrolled anywhere else, through one scripted session:
 * a skill and a memory store attached, the agent's tool calls (bash keeping its state, the file
 * tools, an escape, a tool the local policy denies) answered from the session's sandbox, then the
 * session handed back.
 */
final class DevWorkerSession {
    private static final Duration T = Duration.ofSeconds(60);
    private final PrintStream out;
    private final String driver;
    private final String driverOptions;

    DevWorkerSession(PrintStream out, String driver, String driverOptions) {
        this.out = out;
        this.driver = driver;
        this.driverOptions = driverOptions;
    }

    int run(Path state, long started) throws Exception {
        Files.createDirectories(state);
        String apiKey = "apikey_" + UUID.randomUUID().toString().replace("-", "");
        try (WorkQueueServer queue = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            WorkQueueScript platform = new WorkQueueScript(queue.url(), apiKey);
            Path key = state.resolve("environment.key");
            Files.writeString(key, platform.createEnvironment("env_dev"));
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            String config = """
                    state_dir: %s
                    admin: {listen: "127.0.0.1:0"}
                    drivers: {default: "%s", enabled: ["%s"], options: {"%s": %s}}
                    environments:
                      - api_url: %s
                        environment_id: env_dev
                        key_file: %s
                        tools: {deny: [grep]}
                        idle_stop: 1s
                    """.formatted(state.resolve("agent"), driver, driver, driver, driverOptions, queue.url(), key);
            Daemon daemon = Daemon.start(ConfigLoader.parse(config, "airlock dev --worker"));
            try {
                return session(platform, daemon, state, started);
            } finally {
                daemon.stop();
            }
        }
    }

    private int session(WorkQueueScript platform, Daemon daemon, Path state, long started) throws Exception {
        out.printf("airlock dev --worker: a reference work queue on loopback plays the platform; daemon %s serves environment env_dev "
                + "(not enrolled anywhere else), driver %s%n%n", daemon.agentId(), driver);
        String session = "sesn_dev" + UUID.randomUUID().toString().substring(0, 8);
        String store = platform.createMemoryStore();
        platform.putMemory(store, "/preferences.md", "Answer briefly.\n");
        platform.attachMemoryStore(session, store, "/workspace/memory", "read_write");
        platform.addSkill(session, "greeter", zip("greeter/SKILL.md", "# Greeter\nSay hello.\n"));
        out.println("[1] the platform queues a session with a skill (greeter) and a memory store (/workspace/memory)");
        String work = platform.enqueue("env_dev", session);

        List<ObjectNode> calls = List.of(
                call("t1", "bash", input().put("command", "cd /workspace && export TEAM=airlock && ls skills/greeter memory")),
                call("t2", "bash", input().put("command", "echo \"team $TEAM in $(pwd)\"")),
                call("t3", "write", input().put("file_path", "/workspace/memory/notes.md").put("content", "Ran the dev session.\n")),
                call("t4", "edit", input().put("file_path", "memory/notes.md").put("old_string", "Ran").put("new_string", "Finished")),
                call("t5", "read", input().put("file_path", "memory/notes.md")),
                call("t6", "glob", input().put("pattern", "**/*.md")),
                call("t7", "read", input().put("file_path", "../../etc/shadow")),
                call("t8", "grep", input().put("pattern", "hello")));
        platform.send(session, calls);
        out.println("[2] the agent calls 8 tools; the worker runs each in the session's sandbox and answers:");
        long until = System.nanoTime() + T.toNanos();
        Map<String, JsonNode> results = platform.results(session);
        while (results.size() < calls.size() && System.nanoTime() < until) {
            Thread.sleep(50);
            results = platform.results(session);
        }
        for (ObjectNode c : calls) {
            JsonNode r = results.get(c.get("id").asText());
            String text = r == null ? "(no answer)" : r.get("content").get(0).get("text").asText().replace("\n", " | ");
            out.printf("      %-5s %-44s -> %s%s%n", c.get("name").asText(), brief(c.get("input").toString()),
                    r != null && r.get("is_error").asBoolean() ? "ERROR " : "", brief(text));
        }
        platform.send(session, List.of(WorkQueueScript.idle()));
        out.println("[3] the session idles; the worker flushes memory, destroys the sandbox and stops the work item");
        String itemState = "";
        while (System.nanoTime() < until && !(itemState = platform.item("env_dev", work).path("state").asText()).equals("stopped")) {
            Thread.sleep(50);
        }
        while (System.nanoTime() < until && !daemon.sandboxes().list().isEmpty()) {
            Thread.sleep(50);
        }
        String memory = platform.memories(store).getOrDefault("/notes.md", "");
        out.printf("      work item %s; memory store now holds /notes.md: %s%n", itemState, brief(memory.strip()));

        boolean ok = results.size() == calls.size() && results.get("t2").get("content").get(0).get("text").asText().equals("team airlock in /workspace")
                && results.get("t7").get("is_error").asBoolean() && results.get("t8").get("is_error").asBoolean()
                && memory.equals("Finished the dev session.\n") && itemState.equals("stopped") && daemon.sandboxes().list().isEmpty();
        out.printf("%nsummary: %s: %d tool calls answered from a %s sandbox (shell state kept, escape refused, grep denied by local policy), "
                + "skill delivered, memory synced back, session handed back; %.1fs%n", ok ? "ok" : "FAILED", results.size(), driver,
                (System.nanoTime() - started) / 1e9);
        long audited = 0;
        try (var files = Files.list(state.resolve("agent/audit"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
                audited += Files.readAllLines(f).stream().filter(l -> l.contains("\"worker.")).count();
            }
        }
        out.printf("the audit log holds %d worker records (every tool call, lease, skill and memory sync)%n", audited);
        return ok ? 0 : 1;
    }

    private static ObjectNode call(String id, String name, ObjectNode input) {
        return WorkQueueScript.toolUse(id, name, input);
    }

    private static ObjectNode input() {
        return WorkQueueScript.object();
    }

    private static String brief(String s) {
        return s.length() <= 70 ? s : s.substring(0, 67) + "...";
    }

    private static byte[] zip(String name, String content) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(b)) {
            z.putNextEntry(new ZipEntry(name));
            z.write(content.getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
        }
        return b.toByteArray();
    }
}
