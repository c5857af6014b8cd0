package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.driver.docker.DockerDriverProvider;
import io.airlock.proto.v1.ProvisionSandbox;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17.13: snapshots belong to their driver. With bubblewrap the default and docker enabled,
 * a docker snapshot is listed, started from and deleted without naming the driver.
 */
class SnapshotDriverIT {
    static final Duration T = Duration.ofSeconds(120);
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() throws Exception {
        if (fx != null) {
            String agent = fx.agentId;
            fx.close();
            DockerEgressIT.run("docker ps -aq --filter label=io.airlock.agent=" + agent + " | xargs -r docker rm -f >/dev/null; "
                    + "docker volume ls -q --filter label=io.airlock.agent=" + agent + " | xargs -r docker volume rm >/dev/null; "
                    + "docker images -q --filter label=io.airlock.agent=" + agent + " | xargs -r docker rmi -f >/dev/null; true");
        }
    }

    @Test
    void aDockerSnapshotIsFoundWhenTheDefaultDriverIsBubblewrap() throws Exception {
        Prerequisites.require("docker", new DockerDriverProvider().unavailableReason());
        String image = BusyboxImage.ensure(Path.of("/var/run/docker.sock"));
        fx = new AgentFixture(dir);
        fx.extraConfig = "drivers: {default: bubblewrap, enabled: [bubblewrap, docker], options: {docker: {image: \"" + image + "\"}}}\n";
        fx.enrollAndStart();
        var agents = fx.cp.agents();
        agents.provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("origin").setDriver("docker").build(), T);
        agents.snapshot(fx.agentId, "origin", "base", T);

        var listed = agents.listSnapshots(fx.agentId, "", T);
        assertTrue(listed.getSnapshotsList().stream().anyMatch(s -> s.getName().equals("base") && s.getDriver().equals("docker")),
                "listed without naming the driver: " + listed);

        var clone = agents.provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("clone").setSnapshot("base").build(), T);
        assertEquals("docker", clone.getDriver(), "started on the driver that holds the snapshot");

        agents.destroy(fx.agentId, "clone", T);
        agents.deleteSnapshot(fx.agentId, "", "base", T);
        assertTrue(agents.listSnapshots(fx.agentId, "", T).getSnapshotsList().isEmpty());
    }
}
