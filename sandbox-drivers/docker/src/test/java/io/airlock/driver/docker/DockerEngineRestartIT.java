package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.OutputChunk;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restarts this machine's dockerd while a driver is live. Because that disturbs the engine, it
 * runs under CI (which starts dockerd itself) or when AIRLOCK_TEST_RESTART_DOCKERD=1 (`./airlock test`
 * sets it unless it is set otherwise).
 */
class DockerEngineRestartIT {
    @TempDir
    Path state;

    @Test
    void theDriverGoesUnavailableWhileDockerdRestartsThenRecoversWithoutADaemonRestart() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        boolean allowed = "true".equals(System.getenv("CI")) || "1".equals(System.getenv("AIRLOCK_TEST_RESTART_DOCKERD"));
        Prerequisites.require("permission to restart dockerd", allowed ? Optional.empty()
                : Optional.of("this test restarts the machine's dockerd; set AIRLOCK_TEST_RESTART_DOCKERD=1 to allow it"));
        String image = BusyboxImage.ensure(Path.of("/var/run/docker.sock"));
        SandboxDriver driver = new DockerDriverProvider().create(new DriverContext("restart-" + System.nanoTime(), state, Map.of("image", image)));
        try {
            driver.provision(new SandboxSpec("survivor", ResourceLimits.NONE, Map.of(), Map.of()));
            try (OutputStream out = driver.openWrite("survivor", "kept.txt", 0644)) {
                out.write("kept".getBytes(StandardCharsets.UTF_8));
            }

            restartDockerd(() -> {
                awaitTrue(() -> driver.unavailableReason().isPresent(), Duration.ofSeconds(30), "driver reports the engine down");
                DriverException e = assertThrows(DriverException.class, () -> driver.start("survivor", ExecSpec.of("true")));
                assertEquals(DriverException.Kind.UNAVAILABLE, e.kind(), e.getMessage());
                assertTrue(e.getMessage().contains("stopped answering"), e.getMessage());
            });

            awaitTrue(() -> driver.unavailableReason().isEmpty(), Duration.ofSeconds(60), "driver recovers");
            List<OutputChunk> out = new CopyOnWriteArrayList<>();
            // The engine stopped the container; recovery restarted it (give it a moment to be adopted).
            awaitTrue(() -> {
                out.clear();
                try {
                    return Execution.start(driver, "survivor", ExecSpec.of("cat", "kept.txt"), out::add).await(Duration.ofSeconds(20)).exitCode() == 0;
                } catch (Exception e) {
                    return false;
                }
            }, Duration.ofSeconds(60), "exec works again in the same sandbox");
            assertEquals("kept", new String(out.get(0).data(), StandardCharsets.UTF_8), "the workspace survived");
        } finally {
            try {
                awaitTrue(() -> driver.unavailableReason().isEmpty(), Duration.ofSeconds(60), "driver available for clean-up");
                driver.destroy("survivor");
            } catch (Exception | AssertionError cleanup) {
                System.err.println("clean-up after the engine restart failed: " + cleanup);
            }
            driver.close();
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    interface During {
        void run() throws Exception;
    }

    static void awaitTrue(Check check, Duration max, String what) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (!check.ok()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting: " + what);
            Thread.sleep(100);
        }
    }

    /** Stops dockerd, runs {@code during} while it is down, starts it again (detached, in its own session). */
    static void restartDockerd(During during) throws Exception {
        Process pidof = new ProcessBuilder("pidof", "dockerd").start();
        String pids = new String(pidof.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        pidof.waitFor();
        assertTrue(!pids.isEmpty(), "dockerd is not running as a process this test can see");
        try {
            for (String pid : pids.split("\\s+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroy);
            }
            for (String pid : pids.split("\\s+")) {
                var h = ProcessHandle.of(Long.parseLong(pid));
                if (h.isPresent()) {
                    h.get().onExit().get(60, java.util.concurrent.TimeUnit.SECONDS);
                }
            }
            during.run();
        } finally {
            // Whatever happened above, the engine comes back: every test after this one needs it.
            String dockerd = Files.isExecutable(Path.of("/usr/sbin/dockerd")) ? "/usr/sbin/dockerd" : "dockerd";
            new ProcessBuilder("setsid", dockerd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("/tmp/airlock-test-dockerd.log").toFile())).start();
            awaitTrue(() -> new DockerDriverProvider().unavailableReason().isEmpty(), Duration.ofSeconds(60), "dockerd back");
        }
    }
}
