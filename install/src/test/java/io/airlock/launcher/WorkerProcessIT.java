package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `airlock run` as a work-queue worker only (not enrolled with any airlock.v1 control plane),
 * killed with SIGKILL mid-session and started again: the sandbox it left is destroyed, its item is
 * left to the platform's reclaim and served again, no tool result is posted twice, and the next
 * session is served.
 */
class WorkerProcessIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private WorkQueueServer queue;
    private WorkQueueScript platform;
    private DaemonProcess daemon;
    private Path config;

    @BeforeEach
    void start() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        String apiKey = "apikey_" + System.nanoTime();
        queue = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC());
        platform = new WorkQueueScript(queue.url(), apiKey);
        Path key = dir.resolve("env.key");
        Files.writeString(key, platform.createEnvironment("env_p"));
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        config = dir.resolve("airlock.yaml");
        Files.writeString(config, """
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                drivers: {default: bubblewrap}
                environments:
                  - api_url: %s
                    environment_id: env_p
                    key_file: %s
                    lease_ttl: 6s
                    idle_stop: 2s
                """.formatted(dir.resolve("state"), queue.url(), key));
        daemon = DaemonProcess.start(config, dir.resolve("daemon.log"));
    }

    @AfterEach
    void stop() throws Exception {
        daemon.close();
        queue.close();
    }

    private static void await(String what, Duration max, Callable<Boolean> done, DaemonProcess d) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (!done.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + max + " waiting until " + what + "; log:\n" + d.log());
            }
            Thread.sleep(100);
        }
    }

    private JsonNode status() throws Exception {
        String address = Files.readString(dir.resolve("state/admin.address")).strip();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + address + "/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private String auditText() throws Exception {
        StringBuilder all = new StringBuilder();
        try (var files = Files.list(dir.resolve("state/audit"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".log")).sorted().toList()) {
                all.append(Files.readString(f));
            }
        }
        return all.toString();
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode bash(String command) {
        return WorkQueueScript.object().put("command", command);
    }

    /**
     * SIGKILL mid-command, then a restart: the sandbox the killed run left is destroyed, but the
     * item is not stopped (its lease lapsed with the killed run; another worker may hold it by
     * now, the SDK's rule). The platform reclaims it once the lease lapsed and this worker serves
     * the session again: the call already answered is not run again, the one the kill cut off runs
     * and is answered once.
     */
    @Test
    void aKilledWorkerLeavesItsItemToTheReclaimAndTheSessionIsServedAgainAfterTheLeaseLapses() throws Exception {
        String work = platform.enqueue("env_p", "sesn_p1");
        platform.send("sesn_p1", java.util.List.of(WorkQueueScript.toolUse("p1", "bash", bash("echo before-the-crash"))));
        await("the first result", Duration.ofSeconds(60), () -> platform.results("sesn_p1").containsKey("p1"), daemon);
        platform.send("sesn_p1", java.util.List.of(WorkQueueScript.toolUse("p2", "bash", bash("sleep 3; echo cut-off-then-run-again"))));
        Thread.sleep(1000);
        JsonNode live = status();
        assertEquals(1, live.path("environments").path("env_p").path("sessions_active").asInt(), live.toString());
        assertTrue(live.path("ready").asBoolean(), live.toString());

        daemon.kill();
        daemon = DaemonProcess.start(config, dir.resolve("daemon2.log"));
        await("the leftover sandbox is destroyed", Duration.ofSeconds(60), () -> auditText().contains("\"event\":\"leftover_destroyed\""), daemon);
        assertFalse(platform.item("env_p", work).path("state").asText().equals("stopped"), "the restart does not stop an item it no longer holds");
        await("the reclaimed session's cut-off call is answered", Duration.ofSeconds(90),
                () -> platform.results("sesn_p1").containsKey("p2"), daemon);
        Map<String, JsonNode> results = platform.results("sesn_p1"); // throws if a result was posted twice
        assertEquals("before-the-crash", results.get("p1").get("content").get(0).get("text").asText());
        assertEquals("cut-off-then-run-again", results.get("p2").get("content").get(0).get("text").asText());

        platform.enqueue("env_p", "sesn_p2");
        platform.send("sesn_p2", java.util.List.of(WorkQueueScript.toolUse("q1", "bash", bash("echo after-the-restart"))));
        await("the next session's result", Duration.ofSeconds(60), () -> platform.results("sesn_p2").containsKey("q1"), daemon);
        assertEquals("after-the-restart", platform.results("sesn_p2").get("q1").get("content").get(0).get("text").asText());
    }
}
