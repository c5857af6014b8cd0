package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.Ulimit;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.DriverException;
import io.airlock.driver.ResourceLimits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * How every sandbox container is made, cold or warm: its image checked (pulled when missing,
 * digest verified when pinned), its workspace volume, and the hardening: all capabilities
 * dropped, no-new-privileges, a read-only root filesystem with a writable workspace and /tmp,
 * no network, an init reaping zombies, the configured non-root user and runtime, and limits.
 */
final class HardenedContainers {
    private final DockerClient docker;
    private final DockerOptions options;
    private final ImagePuller puller;
    /** The internal network behind the egress proxy; null when egress is off (no network at all). */
    private final EgressNetwork egress;

    HardenedContainers(DockerClient docker, DockerOptions options, ImagePuller puller, EgressNetwork egress) {
        this.docker = docker;
        this.options = options;
        this.puller = puller;
        this.egress = egress;
    }

    /** The image of {@code rule} is on the engine (pulled for {@code sandboxId} when missing) with its pinned digest. */
    void requireImage(String sandboxId, DockerOptions.AllowedImage rule) throws DriverException {
        String image = rule.reference();
        puller.ensure(sandboxId, image, rule.pinned() ? image + "@" + rule.digest() : image);
        if (rule.pinned()) {
            var inspect = docker.inspectImageCmd(image).exec();
            boolean matches = rule.digest().equals(inspect.getId())
                    || (inspect.getRepoDigests() != null && inspect.getRepoDigests().stream().anyMatch(d -> d.endsWith("@" + rule.digest())));
            if (!matches) {
                throw new DriverException(Kind.FAILED_PRECONDITION, "image '" + image + "' on this host is " + inspect.getId()
                        + ", but drivers.options.docker pins it to " + rule.digest() + "; load the pinned image or change the pin");
            }
        }
    }

    /** Each of a sandbox's volumes is a tmpfs of at most this size (charged to its memory limit). */
    static final String VOLUME_SIZE = "64m";

    String create(String name, String image, String runtime, Map<String, String> labels, List<String> env, ResourceLimits limits,
            String volume) {
        return create(name, image, runtime, labels, env, limits, volume, List.of());
    }

    /**
     * Creates the workspace volume, one volume per path in {@code volumes}, and a hardened
     * container on {@code runtime} (empty: the engine's default); returns its id (not started).
     * The paths' volumes are tmpfs owned by the sandbox user: a named volume at a path the image
     * lacks would be root's, and the container has no capability to change that.
     */
    String create(String name, String image, String runtime, Map<String, String> labels, List<String> env, ResourceLimits limits,
            String volume, List<String> volumes) {
        Map<String, String> volumeLabels = new HashMap<>(labels);
        volumeLabels.keySet().retainAll(List.of(DockerDriver.LABEL_AGENT, DockerDriver.LABEL_SANDBOX, DockerDriver.LABEL_POOL));
        var createVolume = docker.createVolumeCmd().withName(volume).withLabels(volumeLabels);
        if (limits.workspaceBytes() > 0) {
            // A size limit needs a filesystem that enforces one: overlay2 on ext4 has no quota, so
            // the workspace becomes a tmpfs of that size (memory, charged to the sandbox's memory
            // limit, and empty again when the container restarts). The local driver mounts it.
            String[] ids = options.user().split(":");
            createVolume.withDriver("local").withDriverOpts(Map.of("type", "tmpfs", "device", "tmpfs",
                    "o", "size=" + limits.workspaceBytes() + ",uid=" + ids[0] + ",gid=" + (ids.length > 1 ? ids[1] : ids[0]) + ",mode=0755"));
        }
        createVolume.exec();
        String[] owner = options.user().split(":");
        List<Mount> mounts = new ArrayList<>(List.of(new Mount().withType(MountType.VOLUME).withSource(volume).withTarget(DockerDriver.WORKSPACE)));
        for (int n = 0; n < volumes.size(); n++) {
            String extra = volume + "-v" + n;
            docker.createVolumeCmd().withName(extra).withLabels(volumeLabels).withDriver("local").withDriverOpts(Map.of("type", "tmpfs",
                    "device", "tmpfs", "o", "size=" + VOLUME_SIZE + ",uid=" + owner[0] + ",gid=" + (owner.length > 1 ? owner[1] : owner[0])
                            + ",mode=0755")).exec();
            mounts.add(new Mount().withType(MountType.VOLUME).withSource(extra).withTarget(volumes.get(n)));
        }
        HostConfig host = HostConfig.newHostConfig()
                .withCapDrop(Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges:true"))
                .withReadonlyRootfs(true)
                .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,size=" + options.tmpSize() + ",mode=1777"))
                .withMounts(mounts)
                .withNetworkMode(egress == null ? "none" : egress.name())
                .withInit(true);
        if (limits.memoryBytes() > 0) {
            host.withMemory(limits.memoryBytes()).withMemorySwap(limits.memoryBytes());
        }
        if (limits.maxProcesses() > 0) {
            host.withPidsLimit((long) limits.maxProcesses());
        }
        if (limits.cpuSeconds() > 0) {
            host.withUlimits(List.of(new Ulimit("cpu", limits.cpuSeconds(), limits.cpuSeconds())));
        }
        if (!runtime.isEmpty()) {
            host.withRuntime(runtime);
        }
        return docker.createContainerCmd(image)
                .withName(name)
                .withLabels(labels)
                .withUser(options.user())
                .withWorkingDir(DockerDriver.WORKSPACE)
                .withEnv(egress == null ? env : withProxy(env))
                .withCmd(options.keepalive())
                .withHostConfig(host)
                .exec()
                .getId();
    }

    private List<String> withProxy(List<String> env) {
        List<String> all = new ArrayList<>(egress.environment());
        all.addAll(env);
        return all;
    }

    void startIfStopped(String id) {
        try {
            docker.startContainerCmd(id).exec();
        } catch (NotModifiedException e) {
            // already running
        }
    }

    /** With egress on, records a started container's address so the proxy knows whose connections it makes. */
    void learnAddress(InspectContainerResponse started) {
        if (egress != null) {
            egress.learn(started);
        }
    }
}
