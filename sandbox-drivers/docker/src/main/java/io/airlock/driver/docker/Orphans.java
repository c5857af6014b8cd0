package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectVolumeResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerMount;
import io.airlock.driver.Sandbox;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At start, finds what carries this agent's label but belongs to no sandbox: containers that
 * map to no sandbox (nor to the warm pool, when there is one) and workspace volumes no container
 * of ours mounts (a crash between creating the volume and the container, or between removing
 * them). Per {@code drivers.options.docker.orphans} they are removed, or logged and kept.
 * Anything without our agent label is never looked at.
 */
final class Orphans {
    private static final Logger log = LoggerFactory.getLogger(Orphans.class);

    private final DockerClient docker;
    private final String agentId;

    Orphans(DockerClient docker, String agentId) {
        this.docker = docker;
        this.agentId = agentId;
    }

    /**
     * @param toSandbox  the sandbox a container is, if any
     * @param isWarm     true for an idle warm-pool container that the pool will use
     * @return what was found (container names and volume names)
     */
    List<String> sweep(boolean remove, Function<InspectContainerResponse, Optional<Sandbox>> toSandbox, Predicate<String> isWarm) {
        List<String> found = new ArrayList<>();
        Set<String> mounted = new HashSet<>();
        for (Container c : docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agentId)).exec()) {
            String name = c.getNames() != null && c.getNames().length > 0 ? c.getNames()[0].replaceFirst("^/", "") : c.getId();
            if (c.getMounts() != null) {
                c.getMounts().stream().map(ContainerMount::getName).filter(n -> n != null).forEach(mounted::add);
            }
            try {
                if (isWarm.test(name) || toSandbox.apply(docker.inspectContainerCmd(c.getId()).exec()).isPresent()) {
                    continue;
                }
            } catch (NotFoundException e) {
                continue;
            }
            found.add("container " + name);
            if (remove) {
                remove(() -> docker.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(false).exec(), "container " + name);
                if (c.getMounts() != null) {
                    c.getMounts().stream().map(ContainerMount::getName).filter(n -> n != null).forEach(mounted::remove);
                }
            }
        }
        var volumes = docker.listVolumesCmd().withFilter("label", List.of(DockerDriver.LABEL_AGENT + "=" + agentId)).exec().getVolumes();
        for (var v : volumes == null ? List.<InspectVolumeResponse>of() : volumes) {
            if (mounted.contains(v.getName())) {
                continue;
            }
            found.add("volume " + v.getName());
            if (remove) {
                remove(() -> docker.removeVolumeCmd(v.getName()).exec(), "volume " + v.getName());
            }
        }
        if (!found.isEmpty()) {
            log.warn("{} {} orphan(s) of agent {}: {}", remove ? "removed" : "keeping (drivers.options.docker.orphans: keep)",
                    found.size(), agentId, found);
        }
        return found;
    }

    private static void remove(Runnable removal, String what) {
        try {
            removal.run();
        } catch (NotFoundException e) {
            // gone already
        } catch (RuntimeException e) {
            log.warn("cannot remove orphan {}: {}", what, e.getMessage());
        }
    }
}
