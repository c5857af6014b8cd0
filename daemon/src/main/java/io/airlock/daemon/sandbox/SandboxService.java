package io.airlock.daemon.sandbox;

import io.airlock.daemon.policy.LocalPolicy;
import io.airlock.daemon.policy.PolicyDeniedException;
import io.airlock.driver.Capability;
import io.airlock.driver.DriverException;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Sandbox operations across all drivers, checked against the local policy. Knows nothing of
 * the wire protocol, so another adapter (another platform's work queue) can drive it too.
 */
public final class SandboxService {
    private final DriverRegistry drivers;
    private final LocalPolicy policy;
    /** (sandbox, reason) for lifecycle changes, e.g. to emit events. */
    private final BiConsumer<Sandbox, String> lifecycle;
    private final Object provisionLock = new Object();

    public SandboxService(DriverRegistry drivers, LocalPolicy policy, BiConsumer<Sandbox, String> lifecycle) {
        this.drivers = drivers;
        this.policy = policy;
        this.lifecycle = lifecycle;
    }

    public DriverRegistry drivers() {
        return drivers;
    }

    public LocalPolicy policy() {
        return policy;
    }

    /** Idempotent on the sandbox id: an existing sandbox is returned as it is. */
    public Sandbox provision(String id, String driverName, String image, long memoryBytes, int maxProcesses, long cpuSeconds,
            Map<String, String> env, Map<String, String> labels) throws DriverException, PolicyDeniedException {
        SandboxSpec.requireValidId(id);
        Optional<Sandbox> existing = find(id);
        if (existing.isPresent()) {
            return existing.get();
        }
        SandboxDriver driver = drivers.get(driverName);
        ResourceLimits limits = policy.limits(memoryBytes, maxProcesses, cpuSeconds,
                driver.capabilities().contains(Capability.LIMITS_PROCESSES));
        // Capacity check and creation under one lock, so concurrent provisions cannot overshoot max_sandboxes.
        synchronized (provisionLock) {
            existing = find(id);
            if (existing.isPresent()) {
                return existing.get();
            }
            policy.checkCapacity(list().size());
            Sandbox sandbox = driver.provision(new SandboxSpec(id, limits, env, labels, image));
            lifecycle.accept(sandbox, "provisioned");
            return sandbox;
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

    public Located locate(String id) throws DriverException {
        for (SandboxDriver d : drivers.all().values()) {
            Optional<Sandbox> s = d.get(id);
            if (s.isPresent()) {
                return new Located(s.get(), d);
            }
        }
        throw DriverException.notFound(id);
    }

    public List<Sandbox> list() {
        List<Sandbox> all = new ArrayList<>();
        drivers.all().values().forEach(d -> all.addAll(d.list()));
        return all;
    }

    /** Destroys a sandbox; a missing one is not an error (destroy is idempotent). */
    public void destroy(String id) throws DriverException {
        SandboxSpec.requireValidId(id);
        for (SandboxDriver d : drivers.all().values()) {
            Optional<Sandbox> s = d.get(id);
            if (s.isPresent()) {
                d.destroy(id);
                lifecycle.accept(s.get(), "destroyed");
            }
        }
    }

    /** Re-reads every driver's backend (on start); returns the live sandboxes. */
    public List<Sandbox> reconcile() throws DriverException {
        List<Sandbox> all = new ArrayList<>();
        for (SandboxDriver d : drivers.all().values()) {
            all.addAll(d.reconcile());
        }
        return all;
    }
}
