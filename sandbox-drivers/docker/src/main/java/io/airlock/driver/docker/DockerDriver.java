package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import io.airlock.driver.Capability;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SafeTar;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import io.airlock.driver.Snapshot;
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
    /** The sandbox's volumes, one path a line, in provision order. */
    static final String LABEL_VOLUMES = "io.airlock.volumes";
    static final String LABEL_USER_PREFIX = "io.airlock.label.";
    /** On warm-pool containers: made before any sandbox claimed them, so they carry no sandbox labels. */
    static final String LABEL_POOL = "io.airlock.pool";
    /** The template a container was made from. */
    static final String LABEL_TEMPLATE = "io.airlock.template";
    static final String WORKSPACE = "/workspace";

    private final String agentId;
    private final DockerClient docker;
    private final DockerOptions options;
    private final ContainerFiles files;
    private final EngineSocket engine;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final EngineWatch watch;
    private final WarmClaims warm;
    private final OomEvents oom;
    private final Snapshots snapshots;
    private final HardenedContainers containers;
    /** Null when egress is off. */
    private final EgressNetwork egress;
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
        this.snapshots = new Snapshots(docker, agentId, options.user());
        this.egress = context.egressPort().isPresent() ? engineCall("open the egress network",
                () -> EgressNetwork.open(docker, agentId, context.egressPort().get(), name -> Optional.ofNullable(sandboxOfName(name)))) : null;
        this.containers = new HardenedContainers(docker, options, new ImagePuller(docker, context.events()), egress);
        try {
            this.warm = new WarmClaims(agentId, docker, engine, options, new ClaimRecords(context.stateDir()), containers);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot create the docker driver's state directory: " + e.getMessage(), e);
        }
        reconcile();
        // Before the pool starts: a refill's volume is briefly without its container.
        try {
            new Orphans(docker, agentId).sweep(options.removeOrphans(), this::toSandbox,
                    warm::isWanted);
        } catch (RuntimeException e) {
            log.warn("looking for orphans failed ({}); they stay until the next start", e.toString());
        }
        this.oom = new OomEvents(docker, agentId, this::sandboxOfEvent, context.events());
        oom.subscribe();
        engineCall("start the warm pool", () -> {
            warm.start();
            return null;
        });
        this.watch = new EngineWatch(docker, options.socket(), this::recovered, () -> docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(LABEL_AGENT, agentId)).withStatusFilter(List.of("created", "exited", "dead")).exec().stream()
                .anyMatch(c -> !isBusy(c)));
    }

    /** The engine came back (e.g. dockerd restarted, which stops containers): adopt and restart ours. */
    private void recovered() {
        oom.subscribe();
        warm.dropDeadLaunchers();
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
        EnumSet<Capability> caps = EnumSet.of(Capability.EXEC, Capability.EXEC_STDIN, Capability.EXEC_TTY, Capability.EXEC_SIGNAL, Capability.FILES, Capability.FILES_ARCHIVE, Capability.NETWORK_NONE, Capability.LIMITS_MEMORY,
                Capability.LIMITS_PROCESSES, Capability.LIMITS_CPU, Capability.SURVIVES_DAEMON_RESTART, Capability.PAUSE,
                Capability.SNAPSHOT, Capability.LIMITS_WORKSPACE, Capability.VOLUMES);
        if (egress != null) {
            caps.add(Capability.NETWORK_EGRESS_PROXY);
        }
        return caps;
    }

    /** The container of a sandbox: a claimed warm container keeps its pool name. */
    String container(String sandboxId) {
        return warm.containerOf(sandboxId).orElseGet(() -> containerName(sandboxId));
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
            DockerOptions.Template template = options.template(spec.template());
            String requested = spec.image().isEmpty() ? template.image() : spec.image();
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
                // A warm container has no volumes, and none can be added to a running one: a spec with volumes is made cold.
                Optional<Instant> claimed = warm.enabled(template.name()) && requested.equals(template.image()) && spec.volumes().isEmpty()
                        ? warm.claim(spec, template.name()) : Optional.empty();
                if (claimed.isPresent()) {
                    Sandbox sandbox = new Sandbox(spec.id(), name(), SandboxState.READY, claimed.get(), spec.limits(), spec.env(), spec.labels());
                    sandboxes.put(spec.id(), sandbox);
                    return sandbox;
                }
                return engineCall("provision sandbox '" + spec.id() + "'", () -> create(spec, image, rule, template));
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

    private Sandbox create(SandboxSpec spec, String image, DockerOptions.AllowedImage rule, DockerOptions.Template template)
            throws DriverException {
        containers.requireImage(spec.id(), rule);
        Instant created = Instant.now();
        Map<String, String> labels = new HashMap<>();
        labels.put(LABEL_AGENT, agentId);
        labels.put(LABEL_SANDBOX, spec.id());
        labels.put(LABEL_CREATED, created.toString());
        labels.put(LABEL_TEMPLATE, template.name());
        labels.put(LABEL_LIMITS, spec.limits().encode());
        labels.put(LABEL_ENV_KEYS, String.join(",", new TreeMap<>(spec.env()).keySet()));
        if (!spec.volumes().isEmpty()) {
            labels.put(LABEL_VOLUMES, String.join("\n", spec.volumes()));
        }
        spec.labels().forEach((k, v) -> labels.put(LABEL_USER_PREFIX + k, v));
        List<String> env = new ArrayList<>();
        spec.env().forEach((k, v) -> env.add(k + "=" + v));
        String id;
        try {
            id = containers.create(containerName(spec.id()), image, template.runtime(), labels, env, spec.limits(), volumeName(spec.id()),
                    spec.volumes());
        } catch (ConflictException e) {
            // A container with our name exists: a provision that crashed after create, or a race. Adopt it.
            id = containerName(spec.id());
        }
        containers.startIfStopped(id);
        InspectContainerResponse started = docker.inspectContainerCmd(id).exec();
        containers.learnAddress(started);
        Sandbox sandbox = toSandbox(started)
                .orElseThrow(() -> new DriverException(Kind.INTERNAL, "container " + containerName(spec.id()) + " lacks our labels"));
        sandboxes.put(spec.id(), sandbox);
        return sandbox;
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
                : c.getNames() != null && c.getNames().length > 0 && warm.isCreating(c.getNames()[0].replaceFirst("^/", ""));
    }

    /** The sandbox a container without a sandbox label serves: a claimed pool container, or one renamed to the sandbox's name. */
    private String sandboxOfName(String name) {
        String claimed = warm.sandboxOf(name).orElse(null);
        if (claimed != null || name.startsWith(warm.poolPrefix())) {
            return claimed; // an idle warm container serves no sandbox
        }
        String prefix = "airlock-" + agentId + "-";
        return name.startsWith(prefix) ? name.substring(prefix.length()) : null;
    }

    /** Idle warm containers right now (for benchmarks and status). */
    public int warmContainers() {
        return warm.idle();
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
        String volumes = labels.getOrDefault(LABEL_VOLUMES, "");
        return Optional.of(new Sandbox(labels.get(LABEL_SANDBOX), name(), stateOf(c),
                Instant.parse(labels.getOrDefault(LABEL_CREATED, Instant.EPOCH.toString())), limits, env, userLabels,
                volumes.isEmpty() ? List.of() : List.of(volumes.split("\n"))));
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
        ClaimRecords.Claim claim = warm.record(id).orElse(new ClaimRecords.Claim(name, Instant.parse(c.getCreated()), ResourceLimits.NONE,
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

    private List<String> volumesOf(String sandboxId) {
        Sandbox s = sandboxes.get(sandboxId);
        return s == null ? List.of() : s.volumes();
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
        Launcher launcher = warm.takeLauncher(sandboxId);
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
        return files.openWrite(require(sandboxId), volumesOf(sandboxId), path, mode);
    }

    @Override
    public InputStream openRead(String sandboxId, String path) throws DriverException {
        return files.openRead(require(sandboxId), volumesOf(sandboxId), path);
    }

    @Override
    public List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException {
        return files.list(require(sandboxId), volumesOf(sandboxId), path, recursive);
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
        return files.statEntry(require(sandboxId), volumesOf(sandboxId), path);
    }

    @Override
    public SafeTar.Summary extractArchive(String sandboxId, String path, InputStream tar) throws DriverException {
        return files.extractArchive(require(sandboxId), volumesOf(sandboxId), path, tar);
    }

    @Override
    public InputStream openArchiveRead(String sandboxId, String path) throws DriverException {
        return files.openArchiveRead(require(sandboxId), volumesOf(sandboxId), path);
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
        if (egress != null) {
            egress.forget(container(sandboxId));
        }
        try {
            warm.forget(sandboxId);
        } catch (IOException e) {
            log.warn("cannot remove the claim record of {}: {}", sandboxId, e.toString());
        }
        sandboxes.remove(sandboxId);
    }

    @Override
    public List<Sandbox> reconcile() throws DriverException {
        return engineCall("reconcile", () -> {
            try {
                warm.load();
            } catch (IOException e) {
                throw new DriverException(Kind.UNAVAILABLE, "cannot read the claim records: " + e.getMessage(), e);
            }
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
                        containers.startIfStopped(c.getId());
                        inspect = docker.inspectContainerCmd(c.getId()).exec();
                        toSandbox(inspect).filter(s -> s.limits().workspaceBytes() > 0).ifPresent(s -> log.warn(
                                "sandbox {} was restarted; its size-limited workspace is a tmpfs and is empty now", s.id()));
                    }
                    toSandbox(inspect).ifPresent(s -> found.put(s.id(), s));
                    containers.learnAddress(inspect);
                } catch (NotFoundException e) {
                    log.debug("container {} went away while reconciling (a destroy finished)", c.getId());
                } catch (DockerException e) {
                    log.warn("cannot adopt container {}: {}", c.getId(), e.getMessage());
                }
            }
            // Busy sandboxes were skipped above: whoever holds them updates them, so keep them as they are.
            sandboxes.keySet().removeIf(id -> !found.containsKey(id) && !busy.contains(id));
            // A claim whose container is gone (a destroy cut short after removing it) must not capture the id.
            for (String id : warm.claimedSandboxes()) {
                if (!found.containsKey(id) && !busy.contains(id)) {
                    try {
                        warm.forget(id);
                    } catch (IOException e) {
                        log.warn("cannot remove the stale claim record of {}: {}", id, e.toString());
                    }
                }
            }
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
        warm.close();
        if (egress != null) {
            egress.close();
        }
        try {
            docker.close();
        } catch (IOException e) {
            log.debug("closing docker client: {}", e.toString());
        }
    }
}
