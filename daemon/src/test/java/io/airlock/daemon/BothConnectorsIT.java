package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import io.airlock.driver.Sandbox;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One daemon, both connectors at once: enrolled with the reference control plane over mTLS and
 * serving a work-queue environment, on one policy, one set of drivers and one audit log.
 */
class BothConnectorsIT {
    private static final Duration T = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void oneDaemonServesTheControlPlaneAndAWorkQueueAtOnce() throws Exception {
        String apiKey = "apikey_both";
        try (WorkQueueServer queue = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC());
                AgentFixture fx = new AgentFixture(dir)) {
            WorkQueueScript platform = new WorkQueueScript(queue.url(), apiKey);
            Path key = dir.resolve("env.key");
            Files.writeString(key, platform.createEnvironment("env_both"));
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            fx.extraConfig = """
                    drivers: {enabled: [bubblewrap]}
                    environments:
                      - {api_url: "%s", environment_id: env_both, key_file: "%s", idle_stop: 1s}
                    """.formatted(queue.url(), key);
            fx.enrollAndStart();

            fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("cp-box").build(), T);
            ExecResult viaControlPlane = fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("cp-box").addArgv("true").build(),
                    null, c -> { }, T);
            assertEquals(0, viaControlPlane.getExitCode());

            platform.enqueue("env_both", "sesn_both");
            platform.send("sesn_both", List.of(WorkQueueScript.toolUse("b1", "bash", WorkQueueScript.object().put("command", "echo both"))));
            long deadline = System.nanoTime() + T.toNanos();
            Map<String, JsonNode> results = platform.results("sesn_both");
            while (results.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
                results = platform.results("sesn_both");
            }
            assertEquals("both", results.get("b1").get("content").get(0).get("text").asText());
            assertEquals(2, fx.daemon.sandboxes().list().size(), "the control plane's sandbox and the session's, side by side");
            assertTrue(fx.daemon.ready(), "ready: connected, and the queue answers");

            platform.send("sesn_both", List.of(WorkQueueScript.idle()));
            while (fx.daemon.sandboxes().list().size() > 1 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(List.of("cp-box"), fx.daemon.sandboxes().list().stream().map(Sandbox::id).toList(),
                    "handing the session back destroys only its own sandbox");
            assertTrue(fx.daemon.isConnected());
        }
    }
}
