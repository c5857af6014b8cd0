package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
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
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.Snapshot;
import io.airlock.driver.SandboxState;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.TimeUnit;
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
    /** On warm-pool containers: made before any sandbox claimed them, so they carry no sandbox labels. */
    static final String LABEL_POOL = "io.airlock.pool";
    static final String WORKSPACE = "/workspace";

    private final String agentId;
    private final DockerClient docker;
    private final DockerOptions options;
    private final ContainerFiles files;
    private final EngineSocket engine;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final EngineWatch watch;
    private final ClaimRecords claims;
    private final WarmPool pool;
    private final OomEvents oom;
    private final Snapshots snapshots;
    /** Sandboxes living in a claimed warm container, which keeps its pool name: sandbox id to container name. */
    private final Map<String, String> claimedContainers = new ConcurrentHashMap<>();
    /** Launchers of claimed warm containers, for each sandbox's first command. */
    private final Map<String, Launcher> firstExec = new ConcurrentHashMap<>();
    /** Limits for new warm containers: those of the latest claim, so the next claims need no {@code docker update}. */
    private volatile ResourceLimits poolLimits = ResourceLimits.NONE;
    private final ImagePuller puller;
    /**
     * Sandboxes being provisioned or destroyed: recovery must not start a container that is still
     * being created, nor restart or re-adopt one that is being stopped and removed.
     */
    private final Set<String> busy = ConcurrentHashMap.newKeySet();
    /** Warm containers being created and started (by name). */
    private final Set<String> creatingPool = ConcurrentHashMap.newKeySet();

    DockerDriver(DriverContext context, DockerClient docker, EngineSocket engine, DockerOptions options) throws DriverException {
        this.agentId = context.agentId();
        this.docker = docker;
        this.engine = engine;
        this.options = options;
        this.files = new ContainerFiles(docker, engine, context.stateDir(), options.user());
        this.snapshots = new Snapshots(docker, agentId, options.user());
        this.puller = new ImagePuller(docker, context.events());
        try {
            this.claims = new ClaimRecords(context.stateDir());
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot create the docker driver's state directory: " + e.getMessage(), e);
        }
        reconcile();
        // Before the pool starts: a refill's volume is briefly without its container.
        try {
            new Orphans(docker, agentId).sweep(options.removeOrphans(), this::toSandbox,
                    name -> options.warmPool() > 0 && name.startsWith(poolPrefix()));
        } catch (RuntimeException e) {
            log.warn("looking for orphans failed ({}); they stay until the next start", e.toString());
        }
        this.oom = new OomEvents(docker, agentId, this::sandboxOfEvent, context.events());
        oom.subscribe();
        this.pool = options.warmPool() > 0 ? new WarmPool(options.warmPool(), this::createPoolContainer, idlePoolContainers()) : null;
        this.watch = new EngineWatch(docker, options.socket(), this::recovered, () -> docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL_AGENT, agentId)).withStatusFilter(List.of("created", "exited", "dead")).exec().stream()
                .anyMatch(c -> !isBusy(c)));
    }

    /** The engine came back (e.g. dockerd restarted, which stops containers): adopt and restart ours. */
    private void recovered() {
        oom.subscribe();
        // After an engine restart every exec is gone, launchers too; a recovery for one stopped container leaves them.
        firstExec.entrySet().removeIf(e -> {
            if (e.getValue().isRunning(docker)) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        if (pool != null) {
            pool.dropLaunchers(l -> !l.isRunning(docker));
        }
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
        return EnumSet.of(Capability.EXEC, Capability.EXEC_STDIN, Capability.EXEC_TTY, Capability.EXEC_SIGNAL, Capability.FILES, Capability.FILES_ARCHIVE, Capability.NETWORK_NONE, Capability.LIMITS_MEMORY,
                Capability.LIMITS_PROCESSES, Capability.LIMITS_CPU, Capability.SURVIVES_DAEMON_RESTART, Capability.PAUSE,
                Capability.SNAPSHOT, Capability.LIMITS_WORKSPACE);
    }

    /** The container of a sandbox: a claimed warm container keeps its pool name. */
    String container(String sandboxId) {
        return claimedContainers.getOrDefault(sandboxId, containerName(sandboxId));
    }

    /** The name a cold-provisioned sandbox's container gets. */
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
            String requested = spec.image().isEmpty() ? options.image() : spec.image();
            DockerOptions.AllowedImage rule;
            if (requested.startsWith(Snapshot.IMAGE_PREFIX)) {
                // A snapshot of one of this agent's sandboxes: built here from an allowed image.
                String fromSnapshot = engineCall("find snapshot", () -> snapshots.imageFor(requested.substring(Snapshot.IMAGE_PREFIX.length())));
                rule = new DockerOptions.AllowedImage(fromSnapshot, "");
            } else {
                rule = options.rule(requested).orElseThrow(() -> new DriverException(Kind.INVALID_ARGUMENT,
                        "image '" + requested + "' is not allowed on this agent (allowed: " + String.join(", ", allowedImages())
                                + ", or snapshot:<name> of this agent's snapshots; see drivers.options.docker.allowed_images)"));
            }
            String image = rule.reference();
            busy.add(spec.id());
            try {
                Optional<Sandbox> claimed = pool != null && requested.equals(options.image()) ? claim(spec) : Optional.empty();
                if (claimed.isPresent()) {
                    return claimed.get();
                }
                return engineCall("provision sandbox '" + spec.id() + "'", () -> create(spec, image, rule));
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

    private Sandbox create(SandboxSpec spec, String image, DockerOptions.AllowedImage rule) throws DriverException {
        puller.ensure(spec.id(), image, rule.pinned() ? image + "@" + rule.digest() : image);
        if (rule.pinned()) {
            verifyDigest(image, rule.digest());
        }
        Instant created = Instant.now();
        Map<String, String> labels = new HashMap<>();
        labels.put(LABEL_AGENT, agentId);
        labels.put(LABEL_SANDBOX, spec.id());
        labels.put(LABEL_CREATED, created.toString());
        labels.put(LABEL_LIMITS, spec.limits().encode());
        labels.put(LABEL_ENV_KEYS, String.join(",", new TreeMap<>(spec.env()).keySet()));
        spec.labels().forEach((k, v) -> labels.put(LABEL_USER_PREFIX + k, v));
        List<String> env = new ArrayList<>();
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        String id;
        try {
            id = newContainer(containerName(spec.id()), image, labels, env, spec.limits(), volumeName(spec.id()));
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

    /** Creates the workspace volume and a hardened container; returns the container id (not started). */
    private String newContainer(String name, String image, Map<String, String> labels, List<String> env, ResourceLimits limits,
            String volume) {
        Map<String, String> volumeLabels = new HashMap<>(labels);
        volumeLabels.keySet().retainAll(List.of(LABEL_AGENT, LABEL_SANDBOX, LABEL_POOL));
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
        HostConfig host = HostConfig.newHostConfig()
                .withCapDrop(com.github.dockerjava.api.model.Capability.ALL)
                .withSecurityOpts(List.of("no-new-privileges:true"))
                .withReadonlyRootfs(true)
                .withTmpFs(Map.of("/tmp", "rw,nosuid,nodev,size=" + options.tmpSize() + ",mode=1777"))
                .withMounts(List.of(new Mount().withType(MountType.VOLUME).withSource(volume).withTarget(WORKSPACE)))
                .withNetworkMode("none")
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
        if (!options.runtime().isEmpty()) {
            host.withRuntime(options.runtime());
        }
        return docker.createContainerCmd(image)
                .withName(name)
                .withLabels(labels)
                .withUser(options.user())
                .withWorkingDir(WORKSPACE)
                .withEnv(env)
                .withCmd(options.keepalive())
                .withHostConfig(host)
                .exec()
                .getId();
    }

    /** The sandbox an engine event is about: its sandbox label, or for a claimed warm container its name. */
    private String sandboxOfEvent(Map<String, String> attributes) {
        String id = attributes.get(LABEL_SANDBOX);
        return id != null ? id : sandboxOfName(attributes.getOrDefault("name", ""));
    }

    /** True while the container's sandbox (by label, or by name for claimed warm containers) is being provisioned or destroyed. */
    private boolean isBusy(Container c) {
        String id = c.getLabels() == null ? null : c.getLabels().get(LABEL_SANDBOX);
        if (id == null && c.getNames() != null && c.getNames().length > 0) {
            id = sandboxOfName(c.getNames()[0].startsWith("/") ? c.getNames()[0].substring(1) : c.getNames()[0]);
        }
        return id != null ? busy.contains(id)
                : c.getNames() != null && c.getNames().length > 0 && creatingPool.contains(c.getNames()[0].replaceFirst("^/", ""));
    }

    /** The sandbox a container without a sandbox label serves: a claimed pool container, or one renamed to the sandbox's name. */
    private String sandboxOfName(String name) {
        String claimed = claimedContainers.entrySet().stream().filter(e -> e.getValue().equals(name)).map(Map.Entry::getKey)
                .findFirst().orElse(null);
        if (claimed != null || name.startsWith(poolPrefix())) {
            return claimed; // an idle warm container serves no sandbox
        }
        String prefix = "airlock-" + agentId + "-";
        return name.startsWith(prefix) ? name.substring(prefix.length()) : null;
    }

    /** "--": a sandbox id cannot start with "-", so no sandbox's container name ever looks like a pool container's. */
    private String poolPrefix() {
        return "airlock-" + agentId + "--pool-";
    }

    /** One started container for the warm pool, with a launcher waiting for its first command. */
    private WarmPool.Warm createPoolContainer() throws DriverException, IOException {
        String name = poolPrefix() + java.util.UUID.randomUUID().toString().substring(0, 12);
        DockerOptions.AllowedImage rule = DockerOptions.AllowedImage.parse(options.image());
        puller.ensure("", rule.reference(), rule.pinned() ? rule.reference() + "@" + rule.digest() : rule.reference());
        if (rule.pinned()) {
            verifyDigest(rule.reference(), rule.digest());
        }
        ResourceLimits limits = poolLimits;
        creatingPool.add(name); // not yet started: recovery must not take it for a container that went down
        try {
            String id = newContainer(name, rule.reference(), Map.of(LABEL_AGENT, agentId, LABEL_POOL, "true", LABEL_LIMITS, limits.encode()),
                    List.of(), limits, name + "-workspace");
            startIfStopped(id);
            return new WarmPool.Warm(name, limits, launcherFor(name));
        } finally {
            creatingPool.remove(name);
        }
    }


    /** A launcher in a warm container, or null when it cannot be started (the first command then uses a normal exec). */
    private Launcher launcherFor(String container) {
        try {
            return Launcher.start(docker, engine, container, options.user());
        } catch (IOException | RuntimeException e) {
            log.info("no launcher in warm container {} ({}); its first command will use a normal exec", container, e.toString());
            return null;
        }
    }

    /** Idle warm containers found at start (not claimed by any sandbox), each with a new launcher. */
    private List<WarmPool.Warm> idlePoolContainers() throws DriverException {
        return engineCall("list warm-pool containers", () -> docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL_AGENT, agentId, LABEL_POOL, "true")).withStatusFilter(List.of("running")).exec().stream()
                .filter(c -> c.getNames()[0].substring(1).startsWith(poolPrefix()) && !claimedContainers.containsValue(c.getNames()[0].substring(1)))
                .map(c -> new WarmPool.Warm(c.getNames()[0].substring(1), ResourceLimits.decode(c.getLabels().get(LABEL_LIMITS)),
                        launcherFor(c.getNames()[0].substring(1))))
                .toList());
    }

    /**
     * Takes a warm container: write the claim record (the commit point: from then on the
     * container is the sandbox's, also across a crash) and apply limits the container does not
     * have yet ({@code docker update}). It keeps its name: a rename would cost the claim more
     * than everything else. Empty when no warm container fits or the claim failed, so the caller
     * provisions cold instead.
     */
    private Optional<Sandbox> claim(SandboxSpec spec) {
        ResourceLimits l = spec.limits();
        poolLimits = l;
        Optional<WarmPool.Warm> taken = pool.claim(l);
        if (taken.isEmpty()) {
            return Optional.empty();
        }
        WarmPool.Warm warm = taken.get();
        try {
            Instant created = Instant.now();
            claims.write(spec.id(), new ClaimRecords.Claim(warm.container(), created, l, spec.env(), spec.labels()));
            claimedContainers.put(spec.id(), warm.container());
            if (!warm.limits().equals(l) && (l.memoryBytes() > 0 || l.maxProcesses() > 0)) {
                var update = docker.updateContainerCmd(warm.container());
                if (l.memoryBytes() > 0) {
                    update.withMemory(l.memoryBytes()).withMemorySwap(l.memoryBytes());
                }
                if (l.maxProcesses() > 0) {
                    update.withPidsLimit((long) l.maxProcesses());
                }
                update.exec();
            }
            if (warm.launcher() != null) {
                firstExec.put(spec.id(), warm.launcher());
            }
            Sandbox sandbox = new Sandbox(spec.id(), name(), SandboxState.READY, created, l, spec.env(), spec.labels());
            sandboxes.put(spec.id(), sandbox);
            return Optional.of(sandbox);
        } catch (IOException | RuntimeException e) {
            log.warn("claiming warm container {} for sandbox {} failed ({}); provisioning cold", warm.container(), spec.id(), e.toString());
            claimedContainers.remove(spec.id());
            if (warm.launcher() != null) {
                warm.launcher().close();
            }
            try {
                claims.delete(spec.id());
                docker.removeContainerCmd(warm.container()).withForce(true).exec();
                docker.removeVolumeCmd(warm.container() + "-workspace").exec();
            } catch (IOException | RuntimeException ignored) {
                // orphans are swept on the next start
            }
            return Optional.empty();
        }
    }

    /** Idle warm containers right now (for benchmarks and status). */
    public int warmContainers() {
        return pool == null ? 0 : pool.idle();
    }

    /** The engine's copy of {@code image} must have the pinned digest (as a repo digest, or as its id). */
    private void verifyDigest(String image, String digest) throws DriverException {
        var inspect = docker.inspectImageCmd(image).exec();
        boolean matches = digest.equals(inspect.getId())
                || (inspect.getRepoDigests() != null && inspect.getRepoDigests().stream().anyMatch(d -> d.endsWith("@" + digest)));
        if (!matches) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "image '" + image + "' on this host is " + inspect.getId()
                    + ", but drivers.options.docker pins it to " + digest + "; load the pinned image or change the pin");
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
        if (labels == null || !agentId.equals(labels.get(LABEL_AGENT))) {
            return Optional.empty();
        }
        if (labels.get(LABEL_SANDBOX) == null) {
            return claimedSandbox(c);
        }
        ResourceLimits limits = ResourceLimits.decode(labels.get(LABEL_LIMITS));
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
        return Optional.of(new Sandbox(labels.get(LABEL_SANDBOX), name(), stateOf(c),
                Instant.parse(labels.getOrDefault(LABEL_CREATED, Instant.EPOCH.toString())), limits, env, userLabels));
    }

    /**
     * A claimed pool container: named in a claim record (or, for older claims, renamed to the
     * sandbox's name); an idle one is no sandbox.
     */
    private Optional<Sandbox> claimedSandbox(InspectContainerResponse c) {
        String name = c.getName().startsWith("/") ? c.getName().substring(1) : c.getName();
        if (!"true".equals(c.getConfig().getLabels().get(LABEL_POOL))) {
            return Optional.empty();
        }
        String id = sandboxOfName(name);
        if (id == null) {
            return Optional.empty();
        }
        ClaimRecords.Claim claim = claims.read(id).orElse(new ClaimRecords.Claim(name, Instant.parse(c.getCreated()), ResourceLimits.NONE,
                Map.of(), Map.of()));
        return Optional.of(new Sandbox(id, name(), stateOf(c), claim.created(), claim.limits(), claim.env(), claim.labels()));
    }

    private static SandboxState stateOf(InspectContainerResponse c) {
        if (c.getState() == null) {
            return SandboxState.FAILED;
        }
        if (Boolean.TRUE.equals(c.getState().getPaused())) {
            return SandboxState.PAUSED;
        }
        return Boolean.TRUE.equals(c.getState().getRunning()) ? SandboxState.READY : SandboxState.FAILED;
    }

    @Override
    public Sandbox pause(String sandboxId) throws DriverException {
        return setPaused(sandboxId, true);
    }

    @Override
    public Sandbox resume(String sandboxId) throws DriverException {
        return setPaused(sandboxId, false);
    }

    private Sandbox setPaused(String sandboxId, boolean paused) throws DriverException {
        synchronized (lockFor(sandboxId)) {
            String container = container(sandboxId);
            if (!sandboxes.containsKey(sandboxId)) {
                throw DriverException.notFound(sandboxId);
            }
            return engineCall((paused ? "pause" : "resume") + " sandbox '" + sandboxId + "'", () -> {
                boolean isPaused = Boolean.TRUE.equals(docker.inspectContainerCmd(container).exec().getState().getPaused());
                if (paused && !isPaused) {
                    docker.pauseContainerCmd(container).exec();
                } else if (!paused && isPaused) {
                    docker.unpauseContainerCmd(container).exec();
                }
                Sandbox s = sandboxes.get(sandboxId);
                Sandbox updated = new Sandbox(s.id(), s.driver(), paused ? SandboxState.PAUSED : SandboxState.READY, s.createdAt(),
                        s.limits(), s.env(), s.labels());
                sandboxes.put(sandboxId, updated);
                return updated;
            });
        }
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
        return container(sandboxId);
    }

    @Override
    public SandboxProcess start(String sandboxId, ExecSpec spec) throws DriverException {
        String container = require(sandboxId);
        if (sandboxes.get(sandboxId).state() == SandboxState.PAUSED) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "sandbox '" + sandboxId + "' is paused; resume it first");
        }
        // The workspace itself needs no check (an engine round trip); anything below it is confined.
        String wd = spec.workingDir().isEmpty() ? WORKSPACE : files.resolve(container, spec.workingDir(), true);
        // The sandbox's env is in a cold container's config but not in a claimed warm one's: pass it every time.
        Map<String, String> merged = new TreeMap<>(sandboxes.get(sandboxId).env());
        merged.putAll(spec.env());
        Launcher launcher = firstExec.remove(sandboxId);
        if (launcher != null) {
            if (Launcher.canRun(spec, merged) && launcher.isAlive()) {
                try {
                    return new DockerExecProcess(docker, launcher.execId, launcher.run(wd, merged, spec.argv()), false,
                            (pid, signal) -> signalInContainer(container, pid, signal));
                } catch (IOException e) {
                    log.info("launcher of sandbox {} failed ({}); using a normal exec", sandboxId, e.toString());
                }
            }
            launcher.close();
        }
        List<String> env = new ArrayList<>();
        merged.forEach((k, v) -> env.add(k + "=" + v));
        if (spec.tty() != null && !merged.containsKey("TERM")) {
            env.add("TERM=xterm");
        }
        return engineCall("exec in sandbox '" + sandboxId + "'", () -> {
            String execId = docker.execCreateCmd(container).withCmd(spec.argv().toArray(String[]::new)).withEnv(env)
                    .withWorkingDir(wd).withUser(options.user()).withTty(spec.tty() != null)
                    .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).exec().getId();
            DockerExecProcess process;
            try {
                process = new DockerExecProcess(docker, execId, engine.startExec(execId, spec.tty() != null), spec.tty() != null,
                        (pid, signal) -> signalInContainer(container, pid, signal));
            } catch (IOException e) {
                throw new DriverException(Kind.UNAVAILABLE, "cannot start exec: " + e.getMessage(), e);
            }
            if (spec.tty() != null) {
                // API 1.41 has no initial console size on exec start: set it right after.
                process.resize(spec.tty());
            }
            return process;
        });
    }

    /** {@code kill -s SIG PID} as the sandbox user inside the container, with a deadline. */
    private void signalInContainer(String container, long pid, ProcessSignal signal) throws DriverException {
        engineCall("signal a process in " + container, () -> {
            String execId = docker.execCreateCmd(container).withCmd("kill", "-s", signal.name(), Long.toString(pid))
                    .withUser(options.user()).withAttachStdout(true).withAttachStderr(true).exec().getId();
            StringBuilder said = new StringBuilder();
            try (var callback = docker.execStartCmd(execId).exec(new ResultCallback.Adapter<Frame>() {
                @Override
                public void onNext(Frame frame) {
                    said.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                }
            })) {
                if (!callback.awaitCompletion(10, TimeUnit.SECONDS)) {
                    throw new DriverException(Kind.UNAVAILABLE, "kill in " + container + " did not finish within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DriverException(Kind.UNAVAILABLE, "interrupted while signalling");
            } catch (IOException e) {
                throw new DriverException(Kind.UNAVAILABLE, "signal: " + e.getMessage(), e);
            }
            Long code = docker.inspectExecCmd(execId).exec().getExitCodeLong();
            if (code == null || code != 0) {
                throw new DriverException(Kind.FAILED_PRECONDITION, "cannot send SIG" + signal.name() + " to the process: "
                        + said.toString().strip() + " (kill exited " + code + "; the image needs a kill command)");
            }
            return null;
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
    public Snapshot snapshot(String sandboxId, String name) throws DriverException {
        String container = require(sandboxId);
        synchronized (lockFor(sandboxId)) {
            busy.add(sandboxId); // it is paused for the copy: recovery must neither thaw it nor record it as paused
            try {
                return engineCall("snapshot sandbox '" + sandboxId + "'", () -> snapshots.create(container, sandboxId, name));
            } finally {
                busy.remove(sandboxId);
            }
        }
    }

    @Override
    public List<Snapshot> snapshots() throws DriverException {
        return engineCall("list snapshots", snapshots::list);
    }

    @Override
    public void deleteSnapshot(String name) throws DriverException {
        engineCall("delete snapshot '" + name + "'", () -> {
            snapshots.delete(name);
            return null;
        });
    }

    @Override
    public FileEntry stat(String sandboxId, String path) throws DriverException {
        return files.statEntry(require(sandboxId), path);
    }

    @Override
    public io.airlock.driver.SafeTar.Summary extractArchive(String sandboxId, String path, InputStream tar) throws DriverException {
        return files.extractArchive(require(sandboxId), path, tar);
    }

    @Override
    public InputStream openArchiveRead(String sandboxId, String path) throws DriverException {
        return files.openArchiveRead(require(sandboxId), path);
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
            // A claimed warm container's volume has the pool's name, not the sandbox's: take it from the mounts.
            Launcher unused = firstExec.remove(sandboxId);
            if (unused != null) {
                unused.close();
            }
            String container = container(sandboxId);
            List<String> volumes = new ArrayList<>(List.of(volumeName(sandboxId)));
            try {
                var mounts = docker.inspectContainerCmd(container).exec().getMounts();
                if (mounts != null) {
                    mounts.stream().filter(m -> m.getName() != null).forEach(m -> volumes.add(m.getName()));
                }
            } catch (NotFoundException e) {
                // no container: only the volume may be left
            }
            try {
                docker.stopContainerCmd(container).withTimeout(2).exec();
            } catch (NotFoundException | NotModifiedException e) {
                // gone or already stopped
            }
            try {
                docker.removeContainerCmd(container).withForce(true).exec();
            } catch (NotFoundException e) {
                // already removed
            }
            for (String volume : volumes.stream().distinct().toList()) {
                try {
                    docker.removeVolumeCmd(volume).exec();
                } catch (NotFoundException e) {
                    // already removed
                }
            }
            return null;
        });
        try {
            claims.delete(sandboxId);
            claimedContainers.remove(sandboxId);
        } catch (IOException e) {
            log.warn("cannot remove the claim record of {}: {}", sandboxId, e.toString());
        }
        sandboxes.remove(sandboxId);
    }

    @Override
    public List<Sandbox> reconcile() throws DriverException {
        return engineCall("reconcile", () -> {
            loadClaims();
            List<Container> ours = docker.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of(LABEL_AGENT, agentId)).exec();
            Map<String, Sandbox> found = new HashMap<>();
            for (Container c : ours) {
                if (isBusy(c)) {
                    continue;
                }
                try {
                    InspectContainerResponse inspect = docker.inspectContainerCmd(c.getId()).exec();
                    var st = inspect.getState();
                    // Paused sandboxes stay paused; anything else that is not running (an engine restart stops all) is started.
                    if (st != null && !Boolean.TRUE.equals(st.getRunning()) && !Boolean.TRUE.equals(st.getPaused())) {
                        startIfStopped(c.getId());
                        inspect = docker.inspectContainerCmd(c.getId()).exec();
                        toSandbox(inspect).filter(s -> s.limits().workspaceBytes() > 0).ifPresent(s -> log.warn(
                                "sandbox {} was restarted; its size-limited workspace is a tmpfs and is empty now", s.id()));
                    }
                    toSandbox(inspect).ifPresent(s -> found.put(s.id(), s));
                } catch (NotFoundException e) {
                    log.debug("container {} went away while reconciling (a destroy finished)", c.getId());
                } catch (DockerException e) {
                    log.warn("cannot adopt container {}: {}", c.getId(), e.getMessage());
                }
            }
            // Busy sandboxes were skipped above: whoever holds them updates them, so keep them as they are.
            sandboxes.keySet().removeIf(id -> !found.containsKey(id) && !busy.contains(id));
            found.keySet().removeAll(busy);
            sandboxes.putAll(found);
            return list();
        });
    }

    /** Rebuilds the sandbox to warm-container map from the claim records (after a restart). */
    private void loadClaims() throws DriverException {
        try {
            claims.all().forEach((id, claim) -> {
                if (!claim.container().isEmpty()) {
                    claimedContainers.putIfAbsent(id, claim.container());
                }
            });
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot read the claim records: " + e.getMessage(), e);
        }
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
        } catch (IllegalArgumentException e) {
            throw new DriverException(Kind.INVALID_ARGUMENT, what + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new DriverException(Kind.UNAVAILABLE, what + ": the Docker engine is unreachable (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public void close() {
        watch.close();
        oom.close();
        if (pool != null) {
            pool.close();
        }
        try {
            docker.close();
        } catch (IOException e) {
            log.debug("closing docker client: {}", e.toString());
        }
    }
}
