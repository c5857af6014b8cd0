package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.driver.docker.DockerDriverProvider;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon killed with SIGKILL mid-provision and mid-exec, then restarted, on the real Docker Engine. */
class DockerDaemonCrashIT {
    static final Path SOCKET = Path.of("/var/run/docker.sock");
    static final Duration T = Duration.ofSeconds(90);
    static String image;
    static DockerClient docker;

    @TempDir
    Path dir;
    ControlPlaneServer cp;
    DaemonProcess daemon;
    String agentId;
    Path config;

    @BeforeAll
    static void requireEngine() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        image = BusyboxImage.ensure(SOCKET);
        var c = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix://" + SOCKET).build();
        docker = DockerClientImpl.getInstance(c, new ZerodepDockerHttpClient.Builder().dockerHost(URI.create("unix://" + SOCKET)).build());
    }

    @BeforeEach
    void start() throws Exception {
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0));
        agentId = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), dir.resolve("agent"), "crash").agentId();
        config = dir.resolve("airlock.yaml");
        Files.writeString(config, """
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                control_plane: {ping_interval: 1s, ping_timeout: 2s, backoff: {initial: 200ms, max: 2s}}
                drivers: {default: docker, enabled: [docker], options: {docker: {image: "%s"}}}
                """.formatted(dir.resolve("agent"), image));
        startDaemon();
    }

    void startDaemon() throws Exception {
        daemon = DaemonProcess.start(config, dir.resolve("daemon.log"));
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, Duration.ofSeconds(60)), "daemon connected; log: " + daemon.log());
    }

    @AfterEach
    void stop() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
        if (cp != null) {
            cp.close();
        }
        for (Container c : ours()) {
            docker.removeContainerCmd(c.getId()).withForce(true).exec();
        }
        docker.listVolumesCmd().withFilter("label", List.of("io.airlock.agent=" + agentId)).exec().getVolumes()
                .forEach(v -> docker.removeVolumeCmd(v.getName()).exec());
    }

    List<Container> ours() {
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("io.airlock.agent", agentId)).exec();
    }

    @Test
    void killedMidProvisionThenRestartedAdoptsTheContainerAndCreatesNoDuplicate() throws Exception {
        Command provision = AgentClient.command(T).setCommandId("provision-while-crashing")
                .setProvision(ProvisionSandbox.newBuilder().setSandboxId("crashbox")).build();
        CompletableFuture<CommandResult> result = CompletableFuture.supplyAsync(() -> cp.agents().send(agentId, provision));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (ours().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "no container appeared; log: " + daemon.log());
            Thread.sleep(5);
        }
        daemon.kill();
        startDaemon();
        // The control plane re-sends the unanswered command; the restarted daemon adopts rather than duplicates.
        assertEquals("crashbox", result.get().getSandbox().getSandboxId());
        assertEquals(1, ours().size(), "exactly one container: " + ours());
        assertEquals("running", ours().get(0).getState());
        assertTrue(cp.registry().awaitConnected(agentId, h -> h.getInventoryList().stream().anyMatch(s -> s.getSandboxId().equals("crashbox")),
                Duration.ofSeconds(5)), "the sandbox is in the restarted daemon's inventory");
    }

    @Test
    void killedMidExecThenRestartedKeepsTheSandboxAndItWorks() throws Exception {
        cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("execbox").build(), T);
        CompletableFuture.runAsync(() -> {
            try {
                cp.agents().exec(agentId, StartExec.newBuilder().setSandboxId("execbox")
                        .addAllArgv(List.of("sh", "-c", "touch started; sleep 3")).build(), null, c -> { }, T);
            } catch (RuntimeException e) {
                // the daemon dies under it; what matters is the sandbox afterwards
            }
        });
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (cp.agents().listFiles(agentId, ListFiles.newBuilder().setSandboxId("execbox").build(), T).getEntriesList().stream()
                .noneMatch(e -> e.getPath().equals("started"))) {
            assertTrue(System.nanoTime() < deadline, "exec did not start");
            Thread.sleep(50);
        }
        daemon.kill();
        startDaemon();
        assertEquals(1, ours().size(), "exactly one container: " + ours());
        var out = new StringBuilder();
        var r = cp.agents().exec(agentId, StartExec.newBuilder().setSandboxId("execbox").addAllArgv(List.of("ls", "started")).build(), null,
                c -> out.append(c.getData().toStringUtf8()), T);
        assertEquals(0, r.getExitCode());
        assertEquals("started\n", out.toString(), "the adopted sandbox kept its workspace");
    }
}
