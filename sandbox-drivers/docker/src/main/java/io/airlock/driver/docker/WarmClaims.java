package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import io.airlock.driver.DriverException;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxSpec;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The warm pools seen from the driver, one per template that asks for one: making warm
 * containers (each with a launcher for its first command), claiming one for a sandbox, and
 * knowing afterwards which container serves which sandbox. A claimed container keeps its pool
 * name ({@code airlock-<agent>--pool-<template>-<id>}: no sandbox id starts with "-", so it never
 * looks like a sandbox's name); the claim record is the commit point, also across a crash.
 */
final class WarmClaims implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WarmClaims.class);

    private final String agentId;
    private final DockerClient docker;
    private final EngineSocket engine;
    private final DockerOptions options;
    private final ClaimRecords records;
    private final HardenedContainers containers;
    /** Sandbox id to the warm container it claimed. */
    private final Map<String, String> claimed = new ConcurrentHashMap<>();
    /** Launchers of claimed containers, for each sandbox's first command. */
    private final Map<String, Launcher> firstExec = new ConcurrentHashMap<>();
    /** Warm containers being created and started (by name). */
    private final Set<String> creating = ConcurrentHashMap.newKeySet();
    /** Per template, limits for new warm containers: those of its latest claim, so the next claims need no {@code docker update}. */
    private final Map<String, ResourceLimits> limitsFor = new ConcurrentHashMap<>();
    /** Template name to its pool; fixed once started. */
    private volatile Map<String, WarmPool> pools = Map.of();

    WarmClaims(String agentId, DockerClient docker, EngineSocket engine, DockerOptions options, ClaimRecords records,
            HardenedContainers containers) {
        this.agentId = agentId;
        this.docker = docker;
        this.engine = engine;
        this.options = options;
        this.records = records;
        this.containers = containers;
    }

    String poolPrefix() {
        return "airlock-" + agentId + "--pool-";
    }

    Optional<String> containerOf(String sandboxId) {
        return Optional.ofNullable(claimed.get(sandboxId));
    }

    /** The sandbox a claimed warm container serves. */
    Optional<String> sandboxOf(String container) {
        return claimed.entrySet().stream().filter(e -> e.getValue().equals(container)).map(Map.Entry::getKey).findFirst();
    }

    /** Sandboxes living in claimed warm containers. */
    Set<String> claimedSandboxes() {
        return Set.copyOf(claimed.keySet());
    }

    boolean isCreating(String container) {
        return creating.contains(container);
    }

    /** Reads the claim records (at start and on every reconcile). */
    void load() throws IOException {
        records.all().forEach((id, claim) -> {
            if (!claim.container().isEmpty()) {
                claimed.putIfAbsent(id, claim.container());
            }
        });
    }

    Optional<ClaimRecords.Claim> record(String sandboxId) {
        return records.read(sandboxId);
    }

    /** Starts a pool for every template that asks for one, adopting the idle warm containers already there. */
    void start() {
        Map<String, WarmPool> started = new HashMap<>();
        for (DockerOptions.Template t : options.templates().values()) {
            if (t.warmPool() > 0) {
                started.put(t.name(), new WarmPool(t.warmPool(), () -> createWarm(t), idleContainers(t)));
            }
        }
        pools = Map.copyOf(started);
    }

    boolean enabled(String template) {
        return pools.containsKey(template);
    }

    /** Idle warm containers of all templates. */
    int idle() {
        return pools.values().stream().mapToInt(WarmPool::idle).sum();
    }

    /** True for the name of a warm container of a template configured with a pool (idle ones are kept at start, not swept). */
    boolean isWanted(String container) {
        if (!container.startsWith(poolPrefix()) || container.lastIndexOf('-') <= poolPrefix().length()) {
            return false;
        }
        var t = options.templates().get(container.substring(poolPrefix().length(), container.lastIndexOf('-')));
        return t != null && t.warmPool() > 0;
    }

    /** One started warm container of {@code t} with a launcher waiting for its first command. */
    private WarmPool.Warm createWarm(DockerOptions.Template t) throws DriverException {
        String name = poolPrefix() + t.name() + "-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        DockerOptions.AllowedImage rule = DockerOptions.AllowedImage.parse(t.image());
        containers.requireImage("", rule);
        ResourceLimits limits = limitsFor.getOrDefault(t.name(), ResourceLimits.NONE);
        creating.add(name); // not yet started: recovery must not take it for a container that went down
        try {
            String id = containers.create(name, rule.reference(), t.runtime(), Map.of(DockerDriver.LABEL_AGENT, agentId,
                    DockerDriver.LABEL_POOL, "true", DockerDriver.LABEL_TEMPLATE, t.name(), DockerDriver.LABEL_LIMITS, limits.encode()),
                    List.of(), limits, name + "-workspace");
            containers.startIfStopped(id);
            containers.learnAddress(docker.inspectContainerCmd(id).exec());
            return new WarmPool.Warm(name, limits, launcherFor(name));
        } finally {
            creating.remove(name);
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

    /** Idle warm containers of {@code t} found at start (claimed by no sandbox), each with a new launcher. */
    private List<WarmPool.Warm> idleContainers(DockerOptions.Template t) {
        return docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(DockerDriver.LABEL_AGENT, agentId, DockerDriver.LABEL_POOL, "true"))
                .withStatusFilter(List.of("running")).exec().stream()
                .map(c -> Map.entry(c.getNames()[0].substring(1), c.getLabels()))
                .filter(c -> c.getKey().startsWith(poolPrefix()) && !claimed.containsValue(c.getKey())
                        && t.name().equals(c.getValue().getOrDefault(DockerDriver.LABEL_TEMPLATE, DockerOptions.DEFAULT_TEMPLATE)))
                .map(c -> new WarmPool.Warm(c.getKey(), ResourceLimits.decode(c.getValue().get(DockerDriver.LABEL_LIMITS)), launcherFor(c.getKey())))
                .toList();
    }

    /**
     * Takes a warm container for {@code spec}: writes the claim record and applies limits the
     * container does not have yet ({@code docker update}); the name stays (a rename would cost
     * the claim more than everything else). Empty when no warm container fits or the claim
     * failed, so the caller provisions cold. Returns when the sandbox was created.
     */
    Optional<Instant> claim(SandboxSpec spec, String template) {
        ResourceLimits l = spec.limits();
        limitsFor.put(template, l);
        Optional<WarmPool.Warm> taken = pools.get(template).claim(l);
        if (taken.isEmpty()) {
            return Optional.empty();
        }
        WarmPool.Warm warm = taken.get();
        try {
            Instant created = Instant.now();
            records.write(spec.id(), new ClaimRecords.Claim(warm.container(), created, l, spec.env(), spec.labels()));
            claimed.put(spec.id(), warm.container());
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
            return Optional.of(created);
        } catch (IOException | RuntimeException e) {
            log.warn("claiming warm container {} for sandbox {} failed ({}); provisioning cold", warm.container(), spec.id(), e.toString());
            claimed.remove(spec.id());
            if (warm.launcher() != null) {
                warm.launcher().close();
            }
            try {
                records.delete(spec.id());
                docker.removeContainerCmd(warm.container()).withForce(true).exec();
                docker.removeVolumeCmd(warm.container() + "-workspace").exec();
            } catch (IOException | RuntimeException ignored) {
                // orphans are swept on the next start
            }
            return Optional.empty();
        }
    }

    /** The launcher for the sandbox's first command, once; null when there is none (any more). */
    Launcher takeLauncher(String sandboxId) {
        return firstExec.remove(sandboxId);
    }

    /** The sandbox was destroyed: drop its launcher, record and mapping. */
    void forget(String sandboxId) throws IOException {
        Launcher unused = firstExec.remove(sandboxId);
        if (unused != null) {
            unused.close();
        }
        records.delete(sandboxId);
        claimed.remove(sandboxId);
    }

    /** After an engine restart every exec is gone: drop the launchers that died (a recovery for one stopped container leaves the rest). */
    void dropDeadLaunchers() {
        firstExec.entrySet().removeIf(e -> {
            if (e.getValue().isRunning(docker)) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        pools.values().forEach(p -> p.dropLaunchers(l -> !l.isRunning(docker)));
    }

    @Override
    public void close() {
        pools.values().forEach(WarmPool::close);
        firstExec.values().forEach(Launcher::close);
    }
}
