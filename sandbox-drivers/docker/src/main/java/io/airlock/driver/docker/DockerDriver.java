package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Mount;
import com.github.dockerjava.api.model.MountType;
import com.github.dockerjava.api.model.Ulimit;
import io.airlock.driver.Capability;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandboxes as hardened containers. Containers are named {@code airlock-<agent>-<sandbox>} (so
 * the engine itself refuses a duplicate, even across a daemon crash mid-provision) and carry
 * labels from which the sandbox is rebuilt on reconcile. Containers without our agent label
 * are never touched.
 */
public final class DockerDriver implements SandboxDriver {
    private static final Logger log = LoggerFactory.getLogger(DockerDriver.class);
    static final String LABEL_AGENT = "io.airlock.agent";
    static final String LABEL_SANDBOX = "io.airlock.sandbox";
    static final String LABEL_CREATED = "io.airlock.created";
    static final String LABEL_LIMITS = "io.airlock.limits";
    static final String LABEL_ENV_KEYS = "io.airlock.env-keys";
    static final String LABEL_USER_PREFIX = "io.airlock.label.";
    static final String WORKSPACE = "/workspace";

    private final String agentId;
    private final DockerClient docker;
    private final DockerOptions options;
    private final ContainerFiles files;
    private final EngineSocket engine;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final EngineWatch watch;
    /**
     * Sandboxes being provisioned or destroyed: recovery must not start a container that is still
     * being created, nor restart or re-adopt one that is being stopped and removed.
     */
    private final Set<String> busy = ConcurrentHashMap.newKeySet();

    DockerDriver(DriverContext context, DockerClient docker, EngineSocket engine, DockerOptions options) throws DriverException {
        this.agentId = context.agentId();
        this.docker = docker;
        this.engine = engine;
        this.options = options;
        this.files = new ContainerFiles(docker, engine, context.stateDir(), options.user());
        reconcile();
        this.watch = new EngineWatch(docker, options.socket(), this::recovered, () -> docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL_AGENT, agentId)).withStatusFilter(List.of("created", "exited", "dead")).exec().stream()
                .anyMatch(c -> !busy.contains(c.getLabels().get(LABEL_SANDBOX))));
    }

    /** The engine came back (e.g. dockerd restarted, which stops containers): adopt and restart ours. */
    private void recovered() {
        try {
            List<Sandbox> live = reconcile();
            log.info("Docker engine is back; {} sandbox(es) adopted and running", live.size());
        } catch (DriverException e) {
            log.warn("Docker engine is back but reconcile failed: {}", e.getMessage());
        }
    }

    @Override
    public Optional<String> unavailableReason() {
        return watch.problem();
    }

    @Override
    public String name() {
        return DockerDriverProvider.NAME;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.EXEC, Capability.EXEC_STDIN, Capability.FILES, Capability.NETWORK_NONE, Capability.LIMITS_MEMORY,
                Capability.LIMITS_PROCESSES, Capability.LIMITS_CPU, Capability.SURVIVES_DAEMON_RESTART);
    }

    String containerName(String sandboxId) {
        return "airlock-" + agentId + "-" + sandboxId;
    }

    private String volumeName(String sandboxId) {
        return containerName(sandboxId) + "-workspace";
    }

    private Object lockFor(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    @Override
    public Sandbox provision(SandboxSpec spec) throws DriverException {
        synchronized (lockFor(spec.id())) {
            Sandbox existing = sandboxes.get(spec.id());
            if (existing != null) {
                return existing;
            }
            String image = spec.image().isEmpty() ? options.image() : spec.image();
            if (!options.allows(image)) {
                throw new DriverException(Kind.INVALID_ARGUMENT, "image '" + image + "' is not allowed on this agent (allowed: "
                        + String.join(", ", allowedImages()) + "; see drivers.options.docker.allowed_images)");
            }
            busy.add(spec.id());
            try {
                return engineCall("provision sandbox '" + spec.id() + "'", () -> create(spec, image));
            } finally {
                busy.remove(spec.id());
            }
        }
    }

    private List<String> allowedImages() {
        List<String> all = new ArrayList<>(List.of(options.image()));
        options.allowedImages().stream().filter(i -> !all.contains(i)).forEach(all::add);
        return all;
    }

    private Sandbox create(SandboxSpec spec, String image) throws DriverException {
        requireImage(image);
        Instant created = Instant.now();
        Map<String, String> labels = new HashMap<>();
        labels.put(LABEL_AGENT, agentId);
        labels.put(LABEL_SANDBOX, spec.id());
        labels.put(LABEL_CREATED, created.toString());
        labels.put(LABEL_LIMITS, spec.limits().memoryBytes() + "," + spec.limits().maxProcesses() + "," + spec.limits().cpuSeconds());
        labels.put(LABEL_ENV_KEYS, String.join(",", new TreeMap<>(spec.env()).keySet()));
        spec.labels().forEach((k, v) -> labels.put(LABEL_USER_PREFIX + k, v));
        docker.createVolumeCmd().withName(volumeName(spec.id())).withLabels(Map.of(LABEL_AGENT, agentId, LABEL_SANDBOX, spec.id())).exec();
        HostConfig host = HostConfig.newHostConfig()
                .withCapDrop(com.github.dockerjava.api.model.Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges:true"))
                .withReadonlyRootfs(true)
                .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,size=" + options.tmpSize() + ",mode=1777"))
                .withMounts(List.of(new Mount().withType(MountType.VOLUME).withSource(volumeName(spec.id())).withTarget(WORKSPACE)))
                .withNetworkMode("none")
                .withInit(true);
        ResourceLimits limits = spec.limits();
        if (limits.memoryBytes() > 0) {
            host.withMemory(limits.memoryBytes()).withMemorySwap(limits.memoryBytes());
        }
        if (limits.maxProcesses() > 0) {
            host.withPidsLimit((long) limits.maxProcesses());
        }
        if (limits.cpuSeconds() > 0) {
            host.withUlimits(List.of(new Ulimit("cpu", limits.cpuSeconds(), limits.cpuSeconds())));
        }
        if (!options.runtime().isEmpty()) {
            host.withRuntime(options.runtime());
        }
        List<String> env = new ArrayList<>();
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        String id;
        try {
            CreateContainerResponse r = docker.createContainerCmd(image)
                    .withName(containerName(spec.id()))
                    .withLabels(labels)
                    .withUser(options.user())
                    .withWorkingDir(WORKSPACE)
                    .withEnv(env)
                    .withCmd(options.keepalive())
                    .withHostConfig(host)
                    .exec();
            id = r.getId();
        } catch (ConflictException e) {
            // A container with our name exists: a provision that crashed after create, or a race. Adopt it.
            id = containerName(spec.id());
        }
        startIfStopped(id);
        Sandbox sandbox = toSandbox(docker.inspectContainerCmd(id).exec())
                .orElseThrow(() -> new DriverException(Kind.INTERNAL, "container " + containerName(spec.id()) + " lacks our labels"));
        sandboxes.put(spec.id(), sandbox);
        return sandbox;
    }

    private void requireImage(String image) throws DriverException {
        try {
            docker.inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            log.info("image {} not present; pulling", image);
            try {
                docker.pullImageCmd(image).start().awaitCompletion();
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new DriverException(Kind.UNAVAILABLE, "interrupted while pulling " + image);
            } catch (RuntimeException pull) {
                throw new DriverException(Kind.UNAVAILABLE, "image '" + image + "' is not present and pulling it failed ("
                        + pull.getMessage() + "); load it on this host (docker load / docker import) or make its registry reachable");
            }
        }
    }

    private void startIfStopped(String id) {
        try {
            docker.startContainerCmd(id).exec();
        } catch (NotModifiedException e) {
            // already running
        }
    }

    /** Rebuilds a sandbox from a container's labels; empty when it is not ours. */
    private Optional<Sandbox> toSandbox(InspectContainerResponse c) {
        Map<String, String> labels = c.getConfig().getLabels();
        if (labels == null || !agentId.equals(labels.get(LABEL_AGENT)) || labels.get(LABEL_SANDBOX) == null) {
            return Optional.empty();
        }
        String[] l = labels.getOrDefault(LABEL_LIMITS, "0,0,0").split(",");
        ResourceLimits limits = new ResourceLimits(Long.parseLong(l[0]), Integer.parseInt(l[1]), Long.parseLong(l[2]));
        Map<String, String> userLabels = new TreeMap<>();
        labels.forEach((k, v) -> {
            if (k.startsWith(LABEL_USER_PREFIX)) {
                userLabels.put(k.substring(LABEL_USER_PREFIX.length()), v);
            }
        });
        List<String> envKeys = List.of(labels.getOrDefault(LABEL_ENV_KEYS, "").split(","));
        Map<String, String> env = new TreeMap<>();
        if (c.getConfig().getEnv() != null) {
            for (String e : c.getConfig().getEnv()) {
                int eq = e.indexOf('=');
                if (eq > 0 && envKeys.contains(e.substring(0, eq))) {
                    env.put(e.substring(0, eq), e.substring(eq + 1));
                }
            }
        }
        boolean running = c.getState() != null && Boolean.TRUE.equals(c.getState().getRunning());
        return Optional.of(new Sandbox(labels.get(LABEL_SANDBOX), name(), running ? SandboxState.READY : SandboxState.FAILED,
                Instant.parse(labels.getOrDefault(LABEL_CREATED, Instant.EPOCH.toString())), limits, env, userLabels));
    }

    @Override
    public Optional<Sandbox> get(String sandboxId) {
        return Optional.ofNullable(sandboxes.get(sandboxId));
    }

    @Override
    public List<Sandbox> list() {
        return sandboxes.values().stream().sorted(Comparator.comparing(Sandbox::createdAt)).toList();
    }

    private String require(String sandboxId) throws DriverException {
        if (!sandboxes.containsKey(sandboxId)) {
            throw DriverException.notFound(sandboxId);
        }
        Optional<String> down = watch.problem();
        if (down.isPresent()) {
            throw new DriverException(Kind.UNAVAILABLE, "sandbox '" + sandboxId + "': " + down.get());
        }
        return containerName(sandboxId);
    }

    @Override
    public SandboxProcess start(String sandboxId, ExecSpec spec) throws DriverException {
        String container = require(sandboxId);
        String wd = files.resolve(container, spec.workingDir(), true);
        List<String> env = new ArrayList<>();
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        return engineCall("exec in sandbox '" + sandboxId + "'", () -> {
            String execId = docker.execCreateCmd(container).withCmd(spec.argv().toArray(String[]::new)).withEnv(env)
                    .withWorkingDir(wd).withUser(options.user())
                    .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).exec().getId();
            try {
                return new DockerExecProcess(docker, execId, engine.startExec(execId));
            } catch (IOException e) {
                throw new DriverException(Kind.UNAVAILABLE, "cannot start exec: " + e.getMessage(), e);
            }
        });
    }

    @Override
    public FileUpload openWrite(String sandboxId, String path, int mode) throws DriverException {
        return files.openWrite(require(sandboxId), path, mode);
    }

    @Override
    public InputStream openRead(String sandboxId, String path) throws DriverException {
        return files.openRead(require(sandboxId), path);
    }

    @Override
    public List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException {
        return files.list(require(sandboxId), path, recursive);
    }

    @Override
    public void destroy(String sandboxId) throws DriverException {
        SandboxSpec.requireValidId(sandboxId);
        synchronized (lockFor(sandboxId)) {
            busy.add(sandboxId);
            try {
                destroyContainer(sandboxId);
            } finally {
                busy.remove(sandboxId);
            }
        }
    }

    /** Stops with a short grace period (the init forwards SIGTERM), then removes container and workspace volume. */
    private void destroyContainer(String sandboxId) throws DriverException {
        engineCall("destroy sandbox '" + sandboxId + "'", () -> {
            try {
                docker.stopContainerCmd(containerName(sandboxId)).withTimeout(2).exec();
            } catch (NotFoundException | NotModifiedException e) {
                // gone or already stopped
            }
            try {
                docker.removeContainerCmd(containerName(sandboxId)).withForce(true).exec();
            } catch (NotFoundException e) {
                // already removed
            }
            try {
                docker.removeVolumeCmd(volumeName(sandboxId)).exec();
            } catch (NotFoundException e) {
                // already removed
            }
            return null;
        });
        sandboxes.remove(sandboxId);
    }

    @Override
    public List<Sandbox> reconcile() throws DriverException {
        return engineCall("reconcile", () -> {
            List<Container> ours = docker.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(LABEL_AGENT, agentId)).exec();
            Map<String, Sandbox> found = new HashMap<>();
            for (Container c : ours) {
                if (busy.contains(c.getLabels().get(LABEL_SANDBOX))) {
                    continue;
                }
                try {
                    startIfStopped(c.getId());
                    toSandbox(docker.inspectContainerCmd(c.getId()).exec()).ifPresent(s -> found.put(s.id(), s));
                } catch (DockerException e) {
                    log.warn("cannot adopt container {}: {}", c.getId(), e.getMessage());
                }
            }
            sandboxes.keySet().retainAll(found.keySet());
            found.keySet().removeAll(busy);
            sandboxes.putAll(found);
            return list();
        });
    }

    @FunctionalInterface
    private interface EngineCall<T> {
        T run() throws DriverException;
    }

    /** Turns engine failures into driver errors an operator can act on. */
    private <T> T engineCall(String what, EngineCall<T> call) throws DriverException {
        Optional<String> down = watch == null ? Optional.empty() : watch.problem();
        if (down.isPresent()) {
            throw new DriverException(Kind.UNAVAILABLE, what + ": " + down.get());
        }
        try {
            return call.run();
        } catch (NotFoundException e) {
            throw new DriverException(Kind.NOT_FOUND, what + ": " + e.getMessage(), e);
        } catch (DockerException e) {
            throw new DriverException(Kind.INTERNAL, what + " failed in the engine: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new DriverException(Kind.UNAVAILABLE, what + ": the Docker engine is unreachable (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public void close() {
        watch.close();
        try {
            docker.close();
        } catch (IOException e) {
            log.debug("closing docker client: {}", e.toString());
        }
    }

    Path socket() {
        return options.socket();
    }
}
