package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverContract;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.ExecRun;
import io.airlock.driver.ExecSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The whole driver contract again with a warm pool, so every sandbox is a claimed, pre-started
 * container whose first command goes through its launcher; plus what the pool itself promises.
 */
class DockerWarmPoolContractIT extends SandboxDriverContract {
    static String image;
    static DockerClient docker;
    private String agentId;

    @BeforeAll
    static void requireEngine() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null);
        image = BusyboxImage.ensure(docker);
    }

    @AfterAll
    static void closeClient() throws Exception {
        docker.close();
    }

    @Override
    protected SandboxDriver createDriver(Path stateDir) throws Exception {
        agentId = "pool-" + Integer.toHexString(stateDir.getFileName().toString().hashCode());
        SandboxDriver d = new DockerDriverProvider().create(new DriverContext(agentId, stateDir, Map.of("image", image, "warm_pool", 2)));
        awaitWarm((DockerDriver) d, 2);
        return d;
    }

    static void awaitWarm(DockerDriver d, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (d.warmContainers() < n) {
            assertTrue(System.nanoTime() < deadline, "the warm pool did not fill to " + n);
            Thread.sleep(20);
        }
    }

    @Override
    protected void afterDriverClosed() {
        docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agentId)).exec()
                .forEach(c -> docker.removeContainerCmd(c.getId()).withForce(true).exec());
        docker.listVolumesCmd().withFilter("label", List.of(DockerDriver.LABEL_AGENT + "=" + agentId)).exec().getVolumes()
                .forEach(v -> docker.removeVolumeCmd(v.getName()).exec());
    }

    @Test
    void theFirstCommandNeedsNoNewExecAndKeepsEveryWordIntact() throws Exception {
        DockerDriver d = (DockerDriver) driver;
        driver.provision(new SandboxSpec("first", ResourceLimits.NONE, Map.of("ODD", "a 'quoted' $value; `x`"), Map.of()));
        try (var up = driver.openWrite("first", "sub/x", 0644)) {
            up.write(1);
        }
        List<String> execsBefore = docker.inspectContainerCmd(d.container("first")).exec().getExecIds();
        ExecSpec spec = new ExecSpec(List.of("sh", "-c", "printf '%s|' \"$@\" \"$ODD\" \"$(pwd)\"; cat", "sh", "it's", "$HOME", "`id`", "a  b", ""),
                Map.of("EXTRA", "x"), "sub", Duration.ofSeconds(30), 1 << 20, true, null);
        ExecRun run = ExecRun.of(driver, "first", spec, "stdin too".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("it's|$HOME|`id`|a  b||a 'quoted' $value; `x`|/workspace/sub|stdin too", run.stdout(), run.stderr());
        assertEquals(0, run.outcome().exitCode());
        List<String> execsAfter = docker.inspectContainerCmd(d.container("first")).exec().getExecIds();
        assertTrue(execsBefore != null && execsBefore.containsAll(execsAfter == null ? List.of() : execsAfter),
                "no exec was created for the first command: " + execsBefore + " then " + execsAfter);
        assertEquals("second\n", ExecRun.sh(driver, "first", "echo second").stdout(), "later commands use normal execs");
    }

    @Test
    void aDeadLauncherIsNoticedAndTheFirstCommandRunsAsANormalExec() throws Exception {
        DockerDriver d = (DockerDriver) driver;
        driver.provision(new SandboxSpec("orphaned-launcher", ResourceLimits.NONE, Map.of(), Map.of()));
        // Kill the waiting launcher shell from outside the driver.
        String killer = docker.execCreateCmd(d.container("orphaned-launcher")).withUser("1000:1000").withAttachStdout(true).withAttachStderr(true)
                .withCmd("sh", "-c", "kill $(ps -o pid,args | grep '[a]irlock_command' | awk '{print $1}')").exec().getId();
        docker.execStartCmd(killer).exec(new com.github.dockerjava.api.async.ResultCallback.Adapter<>()).awaitCompletion();
        assertEquals(0L, docker.inspectExecCmd(killer).exec().getExitCodeLong(), "the launcher was found and killed");
        Thread.sleep(200); // the engine closes the dead exec's stream
        ExecRun run = ExecRun.sh(driver, "orphaned-launcher", "echo still fine");
        assertEquals("still fine\n", run.stdout(), run.stderr());
        assertEquals(0, run.outcome().exitCode());
    }

    @Test
    void aClaimWhoseContainerVanishedDoesNotCaptureTheSandboxIdAfterARestart() throws Exception {
        DockerDriver d = (DockerDriver) driver;
        driver.provision(new SandboxSpec("vanished", ResourceLimits.NONE, Map.of(), Map.of()));
        String warmName = d.container("vanished");
        // What a destroy cut short after removing the container leaves: the claim record.
        docker.removeContainerCmd(warmName).withForce(true).exec();
        driver.close();
        driver = createDriver(stateDir);
        DockerDriver again = (DockerDriver) driver;
        assertTrue(again.get("vanished").isEmpty(), "nothing to adopt");
        assertEquals(again.containerName("vanished"), again.container("vanished"), "the stale claim was dropped");
        driver.provision(new SandboxSpec("vanished", new ResourceLimits(0, 0, 7), Map.of(), Map.of()));
        assertEquals("ok\n", ExecRun.sh(driver, "vanished", "echo ok").stdout());
        driver.destroy("vanished");
    }

    @Test
    void aProvisionClaimsAPrestartedContainerAndThePoolRefills() throws Exception {
        DockerDriver d = (DockerDriver) driver;
        List<String> warmBefore = docker.listContainersCmd().withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agentId)).exec()
                .stream().map(c -> c.getId()).toList();
        driver.provision(new SandboxSpec("claimed", new ResourceLimits(256L << 20, 64, 0), Map.of(), Map.of()));
        var inspect = docker.inspectContainerCmd(d.container("claimed")).exec();
        assertTrue(warmBefore.contains(inspect.getId()), "the sandbox is one of the containers that were already warm");
        assertEquals(256L << 20, inspect.getHostConfig().getMemory(), "limits applied on claim");
        assertEquals(64L, inspect.getHostConfig().getPidsLimit());
        awaitWarm(d, 2);
        driver.destroy("claimed");
        assertTrue(docker.listVolumesCmd().withFilter("label", List.of(DockerDriver.LABEL_AGENT + "=" + agentId)).exec().getVolumes().size() == 2,
                "the claimed sandbox's volume went with it; the two warm ones remain");
    }
}
