package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.dockerjava.api.DockerClient;
import io.airlock.driver.DriverContext;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Orphans on start: what carries the agent's label but belongs to no sandbox is removed (or kept
 * when so configured); sandboxes are adopted; things without the label are never touched.
 */
class DockerOrphansIT {
    @TempDir
    Path state;

    @Test
    void orphansAreRemovedOrKeptPerPolicyAndForeignThingsAreNeverTouched() throws Exception {
        String image = TestEngine.image();
        String agent = "orphans-" + System.nanoTime() % 1_000_000;
        String foreign = agent + "-foreign";
        try (DockerClient docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null)) {
            SandboxDriver first = new DockerDriverProvider().create(new DriverContext(agent, state, Map.of("image", image)));
            first.provision(new SandboxSpec("kept", ResourceLimits.NONE, Map.of(), Map.of()));
            first.close();
            // What a crash can leave: a workspace volume whose container was never created, and a
            // container of ours that maps to no sandbox. Plus a look-alike without our label.
            docker.createVolumeCmd().withName("airlock-" + agent + "-lost-workspace")
                    .withLabels(Map.of(DockerDriver.LABEL_AGENT, agent, DockerDriver.LABEL_SANDBOX, "lost")).exec();
            docker.createContainerCmd(image).withName("airlock-" + agent + "-stray").withLabels(Map.of(DockerDriver.LABEL_AGENT, agent))
                    .withCmd("true").exec();
            docker.createContainerCmd(image).withName(foreign).withLabels(Map.of("io.airlock.sandbox", "kept")).withCmd("true").exec();
            docker.createVolumeCmd().withName(foreign + "-volume").exec();
            try {
                SandboxDriver keeping = new DockerDriverProvider().create(new DriverContext(agent, state, Map.of("image", image, "orphans", "keep")));
                keeping.close();
                assertTrue(exists(docker, "airlock-" + agent + "-stray") && volumeExists(docker, "airlock-" + agent + "-lost-workspace"),
                        "orphans: keep leaves them");

                SandboxDriver removing = new DockerDriverProvider().create(new DriverContext(agent, state, Map.of("image", image)));
                try {
                    assertEquals(List.of("kept"), removing.list().stream().map(s -> s.id()).toList(), "the sandbox is adopted");
                    assertFalse(exists(docker, "airlock-" + agent + "-stray"), "the stray container is removed");
                    assertFalse(volumeExists(docker, "airlock-" + agent + "-lost-workspace"), "the lost volume is removed");
                    assertTrue(volumeExists(docker, "airlock-" + agent + "-kept-workspace"), "a sandbox's volume stays");
                    assertTrue(exists(docker, foreign) && volumeExists(docker, foreign + "-volume"), "nothing without our agent label is touched");
                } finally {
                    removing.destroy("kept");
                    removing.close();
                }
            } finally {
                docker.removeContainerCmd(foreign).withForce(true).exec();
                docker.removeVolumeCmd(foreign + "-volume").exec();
            }
        }
    }

    private static boolean exists(DockerClient docker, String name) {
        return !docker.listContainersCmd().withShowAll(true).withNameFilter(List.of("^/" + name + "$")).exec().isEmpty();
    }

    private static boolean volumeExists(DockerClient docker, String name) {
        var volumes = docker.listVolumesCmd().exec().getVolumes();
        return volumes != null && volumes.stream().anyMatch(v -> v.getName().equals(name));
    }
}
