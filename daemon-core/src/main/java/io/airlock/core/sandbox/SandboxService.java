package io.airlock.core.sandbox;

import io.airlock.core.egress.EgressPolicy;
import io.airlock.core.egress.EgressRule;
import io.airlock.core.egress.SandboxEgress;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.driver.Capability;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.OutputListener;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SafeTar;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import io.airlock.driver.Snapshot;
import io.airlock.driver.TerminalSize;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Sandbox operations across all drivers, checked against the local policy. Knows nothing of
 * the wire protocol, so another adapter (another platform's work queue) can drive it too.
 */
public final class SandboxService {
    private final DriverRegistry drivers;
    private final LocalPolicy policy;
    /** Lifecycle changes, e.g. to emit events. */
    public interface Lifecycle {
        void changed(Sandbox sandbox, SandboxState state, String reason);
    }

    /** When a sandbox was last touched by a command, and how many commands use it right now. */
    private static final class Activity {
        volatile long lastUsedNanos = System.nanoTime();
        final AtomicInteger running = new AtomicInteger();
    }

    private final Lifecycle lifecycle;
    private final Object provisionLock = new Object();
    private final Map<String, Activity> activity = new ConcurrentHashMap<>();
    /** One permit per command running ({@code policy.max_concurrent_commands}), whichever connector it came through. */
    private final Semaphore commands;
    /** Who ends a sandbox's work when the policy reaps it ({@link #onReap}). */
    private final Map<String, Consumer<String>> owners = new ConcurrentHashMap<>();

    /** Each sandbox's egress allowlist; null when policy.egress allows nothing (egress off). */
    private final SandboxEgress egress;

    public SandboxService(DriverRegistry drivers, LocalPolicy policy, Lifecycle lifecycle) {
        this(drivers, policy, lifecycle, null);
    }

    public SandboxService(DriverRegistry drivers, LocalPolicy policy, Lifecycle lifecycle, SandboxEgress egress) {
        this.drivers = drivers;
        this.policy = policy;
        this.commands = new Semaphore(policy.maxConcurrentCommands());
        this.lifecycle = lifecycle;
        this.egress = egress;
    }

    /** The egress allowlist the proxy enforces for a sandbox (nothing when egress is off or none was given). */
    public EgressPolicy egressOf(String sandboxId) {
        return egress == null ? EgressPolicy.DENY_ALL : egress.policyOf(sandboxId);
    }

    /**
     * Checks requested egress rules before anything is created: within the operator's bound
     * (POLICY_DENIED naming the rule otherwise) and on a driver that can enforce them.
     */
    private void checkEgress(SandboxDriver driver, List<EgressRule> rules) throws DriverException, PolicyDeniedException {
        if (rules.isEmpty()) {
            return;
        }
        EgressPolicy.narrowed(rules, egress == null ? EgressPolicy.DENY_ALL : egress.bound());
        if (!driver.capabilities().contains(Capability.NETWORK_EGRESS_PROXY)) {
            throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + driver.name()
                    + " driver cannot route sandboxes through the egress proxy here (capability network.egress-proxy missing; "
                    + "the daemon log says why), so it cannot enforce egress rules; provision without them or use a driver that has it");
        }
    }

    /**
     * Replaces a sandbox's egress allowlist; connections opened from now on see it. A rule wider
     * than policy.egress refuses the whole update and the old allowlist stays.
     */
    public EgressPolicy updateEgress(String sandboxId, List<EgressRule> rules) throws DriverException, PolicyDeniedException {
        Located l = locate(sandboxId);
        checkEgress(l.driver(), rules);
        if (egress == null) {
            return EgressPolicy.DENY_ALL; // nothing requested, nothing allowed
        }
        try {
            return egress.set(sandboxId, rules);
        } catch (IOException e) {
            throw new DriverException(DriverException.Kind.INTERNAL, "cannot store the egress policy of sandbox '" + sandboxId + "': "
                    + e.getMessage(), e);
        }
    }

    public DriverRegistry drivers() {
        return drivers;
    }

    public LocalPolicy policy() {
        return policy;
    }

    /** A file to place in the workspace at provision. */
    public record InitialFile(String path, byte[] content, int mode) {}

    /** Bound on preloaded files in all: they arrive inside one control message. */
    public static final long MAX_INITIAL_BYTES = 4L << 20;

    /** Idempotent on the sandbox id: an existing sandbox is returned as it is. */
    public Sandbox provision(String id, String driverName, String image, ResourceLimits requested,
            Map<String, String> env, Map<String, String> labels) throws DriverException, PolicyDeniedException {
        return provision(id, driverName, image, "", requested, env, labels, List.of(), List.of());
    }

    /** As above, writing {@code files} into a new sandbox before it counts as provisioned (all or nothing). */
    public Sandbox provision(String id, String driverName, String image, String template, ResourceLimits requested,
            Map<String, String> env, Map<String, String> labels, List<InitialFile> files, List<EgressRule> egressRules)
            throws DriverException, PolicyDeniedException {
        return provision(id, driverName, image, template, requested, env, labels, files, egressRules, List.of());
    }

    /**
     * As above, with directories of the sandbox's own at {@code volumes} (absolute paths outside
     * the workspace, {@link SandboxSpec#volumes()}); a driver without {@link Capability#VOLUMES}
     * refuses them with UNIMPLEMENTED rather than leaving them out.
     */
    public Sandbox provision(String id, String driverName, String image, String template, ResourceLimits requested,
            Map<String, String> env, Map<String, String> labels, List<InitialFile> files, List<EgressRule> egressRules,
            List<String> volumes) throws DriverException, PolicyDeniedException {
        long total = files.stream().mapToLong(f -> f.content().length).sum();
        if (total > MAX_INITIAL_BYTES) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "initial files hold " + total + " bytes (expected: at most "
                    + MAX_INITIAL_BYTES + "; send larger content with WriteFile)");
        }
        SandboxSpec.requireValidId(id);
        Optional<Sandbox> existing = find(id);
        if (existing.isPresent()) {
            return existing.get();
        }
        SandboxDriver driver = drivers.get(driverName);
        ResourceLimits limits = policy.limits(requested, driver.name(), driver.capabilities());
        checkEgress(driver, egressRules);
        if (!volumes.isEmpty() && !driver.capabilities().contains(Capability.VOLUMES)) {
            throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + driver.name() + " driver cannot give a sandbox volumes "
                    + volumes + " (expected: a driver with the '" + Capability.VOLUMES.wireName() + "' capability)");
        }
        SandboxSpec spec;
        try {
            spec = new SandboxSpec(id, limits, env, labels, image, template, volumes);
        } catch (IllegalArgumentException e) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, e.getMessage(), e);
        }
        // Capacity check and creation under one lock, so concurrent provisions cannot overshoot max_sandboxes.
        synchronized (provisionLock) {
            existing = find(id);
            if (existing.isPresent()) {
                return existing.get();
            }
            policy.checkCapacity(list().size());
            Sandbox sandbox = driver.provision(spec);
            preload(driver, id, files);
            storeEgress(driver, id, egressRules);
            activity.computeIfAbsent(id, k -> new Activity());
            lifecycle.changed(sandbox, SandboxState.READY, "provisioned");
            return sandbox;
        }
    }

    private void storeEgress(SandboxDriver driver, String id, List<EgressRule> rules) throws DriverException, PolicyDeniedException {
        if (egress == null || rules.isEmpty()) {
            return;
        }
        try {
            egress.set(id, rules);
        } catch (IOException e) {
            driver.destroy(id);
            throw new DriverException(DriverException.Kind.INTERNAL, "cannot store the egress policy of sandbox '" + id + "': "
                    + e.getMessage() + " (the sandbox was not created)", e);
        }
    }

    private static void preload(SandboxDriver driver, String id, List<InitialFile> files) throws DriverException {
        for (InitialFile f : files) {
            try (var out = driver.openWrite(id, f.path(), f.mode())) {
                out.write(f.content());
            } catch (DriverException | IOException e) {
                driver.destroy(id);
                throw new DriverException(e instanceof DriverException d ? d.kind() : DriverException.Kind.INTERNAL,
                        "initial file '" + f.path() + "': " + e.getMessage() + " (the sandbox was not created)", e);
            }
        }
    }

    public Optional<Sandbox> find(String id) {
        for (SandboxDriver d : drivers.all().values()) {
            Optional<Sandbox> s = d.get(id);
            if (s.isPresent()) {
                return s;
            }
        }
        return Optional.empty();
    }

    /** The sandbox and the driver that holds it. */
    public record Located(Sandbox sandbox, SandboxDriver driver) {}

    /** A configured driver by name; empty for the default. */
    public SandboxDriver driver(String name) throws DriverException {
        return drivers.get(name);
    }

    /** A snapshot with the driver that holds it. */
    public record DriverSnapshot(SandboxDriver driver, Snapshot snapshot) {}

    /** The snapshots of the named driver, or, for an empty name, of every driver that takes snapshots. */
    public List<DriverSnapshot> snapshots(String driverName) throws DriverException {
        List<DriverSnapshot> out = new ArrayList<>();
        for (SandboxDriver d : driverName.isEmpty() ? snapshotDrivers() : List.of(drivers.get(driverName))) {
            for (Snapshot sn : d.snapshots()) {
                out.add(new DriverSnapshot(d, sn));
            }
        }
        return out;
    }

    /**
     * The driver that holds snapshot {@code name}: the named one, or, for an empty name, the one
     * driver whose snapshots include it (snapshots belong to their driver, whatever the default
     * is). Empty when no driver has it.
     */
    public Optional<SandboxDriver> snapshotDriver(String driverName, String name) throws DriverException {
        if (!driverName.isEmpty()) {
            return Optional.of(drivers.get(driverName));
        }
        List<SandboxDriver> holding = new ArrayList<>();
        for (DriverSnapshot ds : snapshots("")) {
            if (ds.snapshot().name().equals(name)) {
                holding.add(ds.driver());
            }
        }
        if (holding.size() > 1) {
            throw new DriverException(DriverException.Kind.INVALID_ARGUMENT, "snapshot '" + name + "' exists in the drivers "
                    + holding.stream().map(SandboxDriver::name).toList() + " (expected: name the driver)");
        }
        return holding.stream().findFirst();
    }

    private List<SandboxDriver> snapshotDrivers() {
        return drivers.all().values().stream().filter(d -> d.capabilities().contains(Capability.SNAPSHOT)).toList();
    }

    public Located locate(String id) throws DriverException {
        for (SandboxDriver d : drivers.all().values()) {
            Optional<Sandbox> s = d.get(id);
            if (s.isPresent()) {
                return new Located(s.get(), d);
            }
        }
        throw DriverException.notFound(id);
    }

    // Work inside a sandbox: found across drivers, with the policy's caps applied here, so that
    // every connector gets the same limits.

    /** The exec's spec with the policy's caps: time (within the deadline) and output. */
    public ExecSpec execSpec(List<String> argv, Map<String, String> env, String workingDir, long timeoutMs, long deadlineMs,
            long outputCapBytes, boolean stdin, TerminalSize tty) throws PolicyDeniedException {
        Duration timeout = policy.execTimeout(timeoutMs, deadlineMs, System.currentTimeMillis());
        return new ExecSpec(argv, env, workingDir, timeout, policy.outputCap(outputCapBytes), stdin, tty);
    }

    /** Starts a process in the sandbox; its output goes to {@code listener} as it comes. */
    public Execution startExec(String id, ExecSpec spec, OutputListener listener) throws DriverException, InterruptedException {
        return Execution.start(locate(id).driver(), id, spec, listener);
    }

    /** The largest file or archive the policy lets in or out. */
    public long maxFileBytes() {
        return policy.maxFileBytes();
    }

    public FileUpload openWrite(String id, String path, int mode) throws DriverException {
        return locate(id).driver().openWrite(id, path, mode);
    }

    public InputStream openRead(String id, String path) throws DriverException {
        return locate(id).driver().openRead(id, path);
    }

    public InputStream openArchiveRead(String id, String path) throws DriverException {
        return locate(id).driver().openArchiveRead(id, path);
    }

    public SafeTar.Summary extractArchive(String id, String path, InputStream tar) throws DriverException {
        return locate(id).driver().extractArchive(id, path, tar);
    }

    public List<FileEntry> listFiles(String id, String path, boolean recursive) throws DriverException {
        return locate(id).driver().listFiles(id, path, recursive);
    }

    public FileEntry stat(String id, String path) throws DriverException {
        return locate(id).driver().stat(id, path);
    }

    public DriverSnapshot snapshot(String id, String name) throws DriverException {
        SandboxDriver driver = locate(id).driver();
        return new DriverSnapshot(driver, driver.snapshot(id, name));
    }

    /** Deletes a snapshot; one no driver has is not an error (idempotent). */
    public void deleteSnapshot(String driverName, String name) throws DriverException {
        Optional<SandboxDriver> holder = snapshotDriver(driverName, name);
        if (holder.isPresent()) {
            holder.get().deleteSnapshot(name);
        }
    }

    public List<Sandbox> list() {
        List<Sandbox> all = new ArrayList<>();
        drivers.all().values().forEach(d -> all.addAll(d.list()));
        return all;
    }

    /** Destroys a sandbox; a missing one is not an error (destroy is idempotent). */
    public void destroy(String id) throws DriverException {
        destroy(id, "destroyed");
    }

    /**
     * The core's admission of commands: the control plane's commands and a work-queue session's
     * tool calls share this one bound.
     */
    public Semaphore commands() {
        return commands;
    }

    /**
     * Registers who ends a sandbox's work when the policy reaps it ({@code policy.max_lifetime},
     * {@code idle_timeout}): the reaper asks {@code owner} first, with the reason, so that what
     * the sandbox holds can be saved and the work handed back before the owner destroys it. The
     * owner must not block; it is forgotten when the sandbox is destroyed.
     */
    public void onReap(String id, Consumer<String> owner) {
        owners.put(id, owner);
    }

    /** Asks the sandbox's owner to end its work and destroy it; false when it has none (the reaper destroys it then). */
    boolean askOwner(String id, String reason) {
        Consumer<String> owner = owners.get(id);
        if (owner == null) {
            return false;
        }
        owner.accept(reason);
        return true;
    }

    /** Destroys a sandbox, saying why in the lifecycle event. */
    public void destroy(String id, String reason) throws DriverException {
        SandboxSpec.requireValidId(id);
        owners.remove(id);
        for (SandboxDriver d : drivers.all().values()) {
            Optional<Sandbox> s = d.get(id);
            if (s.isPresent()) {
                d.destroy(id);
                activity.remove(id);
                if (egress != null) {
                    egress.remove(id);
                }
                lifecycle.changed(s.get(), SandboxState.DESTROYED, reason);
            }
        }
    }

    /** Freezes or thaws a sandbox; the control plane gets a lifecycle event either way. */
    public Sandbox setPaused(String id, boolean paused) throws DriverException {
        Located l = locate(id);
        Sandbox s = paused ? l.driver().pause(id) : l.driver().resume(id);
        use(id).close(); // the idle clock starts again from a pause or resume
        lifecycle.changed(s, s.state(), paused ? "paused" : "resumed");
        return s;
    }

    /**
     * Marks a sandbox in use by a command until the returned handle is closed: an idle timeout
     * never reaps a sandbox while something runs in it, and counts from the end of the last use.
     */
    public InUse use(String id) {
        Activity a = activity.computeIfAbsent(id, k -> new Activity());
        a.running.incrementAndGet();
        a.lastUsedNanos = System.nanoTime();
        return () -> {
            a.lastUsedNanos = System.nanoTime();
            a.running.decrementAndGet();
        };
    }

    /** A use of a sandbox; closing it ends the use. */
    public interface InUse extends AutoCloseable {
        @Override
        void close();
    }

    /** How long no command has used the sandbox; zero while one does. Adopted sandboxes count from adoption. */
    public Duration idleFor(String id) {
        Activity a = activity.computeIfAbsent(id, k -> new Activity());
        return a.running.get() > 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - a.lastUsedNanos);
    }

    /** Re-reads every driver's backend (on start); returns the live sandboxes. */
    public List<Sandbox> reconcile() throws DriverException {
        List<Sandbox> all = new ArrayList<>();
        for (SandboxDriver d : drivers.all().values()) {
            all.addAll(d.reconcile());
        }
        if (egress != null) {
            try {
                egress.load(all.stream().map(Sandbox::id).collect(Collectors.toSet()));
            } catch (IOException e) {
                throw new DriverException(DriverException.Kind.INTERNAL, "cannot read the stored egress policies: " + e.getMessage(), e);
            }
        }
        return all;
    }
}
