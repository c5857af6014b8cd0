package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecRun;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Templates on the real engine: a template naming gVisor's runsc runtime with its own warm pool
 * next to the default (runc) one. gVisor reports its own kernel (4.4.0), which tells the two apart.
 */
class DockerTemplatesIT {
    @TempDir
    Path state;

    @Test
    void aTemplateRunsSandboxesOnItsRuntimeFromItsOwnWarmPool() throws Exception {
        String image = TestEngine.image();
        try (DockerClient docker = DockerDriverProvider.client(TestEngine.SOCKET, null)) {
            var runtimes = docker.infoCmd().exec().getRuntimes();
            Prerequisites.require("gVisor's runsc registered with the engine", runtimes != null && runtimes.containsKey("runsc")
                    ? Optional.empty() : Optional.of("apt-get install runsc; add it under \"runtimes\" in /etc/docker/daemon.json "
                            + "with runtimeArgs [\"--network=none\"]; reload dockerd (.ci/run does this)"));
            String agent = "tpl-" + System.nanoTime() % 1_000_000;
            Map<String, Object> options = Map.of("image", image, "templates", Map.of("gvisor", Map.of("runtime", "runsc", "warm_pool", 1)));
            SandboxDriver driver = new DockerDriverProvider().create(new DriverContext(agent, state, options));
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (((DockerDriver) driver).warmContainers() < 1) {
                    assertTrue(System.nanoTime() < deadline, "the gvisor pool fills");
                    Thread.sleep(20);
                }
                String hostKernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();

                driver.provision(new SandboxSpec("plain", ResourceLimits.NONE, Map.of(), Map.of()));
                assertEquals(hostKernel + "\n", ExecRun.sh(driver, "plain", "uname -r").stdout(), "the default template runs on runc");

                driver.provision(new SandboxSpec("guarded", ResourceLimits.NONE, Map.of(), Map.of(), "", "gvisor"));
                String guardedContainer = ((DockerDriver) driver).container("guarded");
                assertTrue(guardedContainer.contains("--pool-gvisor-"), "claimed from the gvisor pool: " + guardedContainer);
                ExecRun first = ExecRun.sh(driver, "guarded", "uname -r; id -u; touch /rootfs 2>/dev/null && echo writable || echo read-only");
                assertEquals("4.4.0\n1000\nread-only\n", first.stdout(), "gVisor's kernel, hardened as ever: " + first.stderr());
                assertEquals("runsc", docker.inspectContainerCmd(guardedContainer).exec().getHostConfig().getRuntime());

                driver.provision(new SandboxSpec("cold-guarded", ResourceLimits.NONE, Map.of(), Map.of(), "", "gvisor"));
                assertEquals("4.4.0\n", ExecRun.sh(driver, "cold-guarded", "uname -r").stdout(), "a cold provision uses the template too");

                DriverException unknown = assertThrows(DriverException.class,
                        () -> driver.provision(new SandboxSpec("x", ResourceLimits.NONE, Map.of(), Map.of(), "", "kata")));
                assertEquals(DriverException.Kind.INVALID_ARGUMENT, unknown.kind());
                assertTrue(unknown.getMessage().contains("'kata'") && unknown.getMessage().contains("default, gvisor"), unknown.getMessage());
            } finally {
                for (String id : List.of("plain", "guarded", "cold-guarded")) {
                    driver.destroy(id);
                }
                driver.close();
                docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agent)).exec()
                        .forEach(c -> docker.removeContainerCmd(c.getId()).withForce(true).exec());
                docker.listVolumesCmd().withFilter("label", List.of(DockerDriver.LABEL_AGENT + "=" + agent)).exec().getVolumes()
                        .forEach(v -> docker.removeVolumeCmd(v.getName()).exec());
            }

            DriverException noRuntime = assertThrows(DriverException.class, () -> new DockerDriverProvider().create(new DriverContext(
                    agent + "-x", state, Map.of("image", image, "templates", Map.of("odd", Map.of("runtime", "no-such-runtime"))))));
            assertTrue(noRuntime.getMessage().contains("templates.odd.runtime: 'no-such-runtime' is not a runtime of this Docker engine")
                    && noRuntime.getMessage().contains("runsc"), noRuntime.getMessage());
            assertNotEquals("4.4.0", hostKernelOf());
        }
    }

    private static String hostKernelOf() throws Exception {
        return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
    }
}
