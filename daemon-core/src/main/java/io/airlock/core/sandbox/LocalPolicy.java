package io.airlock.core.sandbox;

import io.airlock.core.config.DaemonConfig;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.driver.Capability;
import io.airlock.driver.ResourceLimits;
import java.time.Duration;
import java.util.Set;

/**
 * Applies {@code policy:} from the configuration to each request: fills in defaults, refuses
 * what exceeds a maximum (never silently clamps, so the control plane learns what it may ask),
 * and names the rule in every denial.
 */
public final class LocalPolicy {
    // Replaced whole on a config reload (SIGHUP); the next request sees the new one.
    private volatile DaemonConfig.Policy policy;

    public LocalPolicy(DaemonConfig.Policy policy) {
        this.policy = policy;
    }

    /** A reloaded policy (SIGHUP): requests from now on are checked against it. */
    public void update(DaemonConfig.Policy next) {
        this.policy = next;
    }

    public int maxSandboxes() {
        return policy.maxSandboxes();
    }

    public int maxConcurrentCommands() {
        return policy.maxConcurrentCommands();
    }

    public void checkCapacity(int liveSandboxes) throws PolicyDeniedException {
        int max = policy.maxSandboxes();
        if (liveSandboxes >= max) {
            throw new PolicyDeniedException("policy.max_sandboxes", "this agent already runs " + liveSandboxes
                    + " sandboxes, the most policy.max_sandboxes allows (" + max + ")");
        }
    }

    /**
     * Limits for a new sandbox: requested values within the maxima, defaults for the rest. A
     * limit the driver cannot enforce is refused when requested and not defaulted.
     */
    public ResourceLimits limits(ResourceLimits requested, String driver, Set<Capability> driverCan) throws PolicyDeniedException {
        DaemonConfig.Limits l = policy.limits();
        long maxMem = l.maxMemory().bytes();
        if (maxMem > 0 && requested.memoryBytes() > maxMem) {
            throw new PolicyDeniedException("policy.limits.max_memory", "memory " + requested.memoryBytes()
                    + " bytes exceeds policy.limits.max_memory (" + maxMem + " bytes)");
        }
        if (l.maxProcesses() > 0 && requested.maxProcesses() > l.maxProcesses()) {
            throw new PolicyDeniedException("policy.limits.max_processes", "max_processes " + requested.maxProcesses()
                    + " exceeds policy.limits.max_processes (" + l.maxProcesses() + ")");
        }
        if (l.maxCpuSeconds() > 0 && requested.cpuSeconds() > l.maxCpuSeconds()) {
            throw new PolicyDeniedException("policy.limits.max_cpu_seconds", "cpu_seconds " + requested.cpuSeconds()
                    + " exceeds policy.limits.max_cpu_seconds (" + l.maxCpuSeconds() + ")");
        }
        long maxWs = l.maxWorkspace().bytes();
        if (maxWs > 0 && requested.workspaceBytes() > maxWs) {
            throw new PolicyDeniedException("policy.limits.max_workspace", "workspace " + requested.workspaceBytes()
                    + " bytes exceeds policy.limits.max_workspace (" + maxWs + " bytes)");
        }
        boolean limitsWorkspace = driverCan.contains(Capability.LIMITS_WORKSPACE);
        if (requested.workspaceBytes() > 0 && !limitsWorkspace) {
            throw new PolicyDeniedException("limits.workspace_bytes", "the " + driver
                    + " driver cannot limit the workspace size; provision without workspace_bytes or on a driver that can (docker)");
        }
        long memory = requested.memoryBytes() > 0 ? requested.memoryBytes() : l.defaultMemory().bytes();
        int processes = requested.maxProcesses() > 0 ? requested.maxProcesses()
                : (driverCan.contains(Capability.LIMITS_PROCESSES) ? l.defaultMaxProcesses() : 0);
        long cpu = requested.cpuSeconds() > 0 ? requested.cpuSeconds() : l.maxCpuSeconds();
        long workspace = requested.workspaceBytes() > 0 ? requested.workspaceBytes() : (limitsWorkspace ? l.defaultWorkspace().bytes() : 0);
        return new ResourceLimits(memory, processes, cpu, workspace);
    }

    /** The exec's time limit: requested (or default) within the maximum, and never past the command's deadline. */
    public Duration execTimeout(long requestedMs, long deadlineMs, long nowMs) throws PolicyDeniedException {
        Duration max = policy.exec().maxTimeout();
        if (requestedMs < 0) {
            throw new PolicyDeniedException("policy.exec", "timeout_ms must not be negative");
        }
        if (requestedMs > max.toMillis()) {
            throw new PolicyDeniedException("policy.exec.max_timeout", "timeout " + requestedMs + "ms exceeds policy.exec.max_timeout ("
                    + max.toMillis() + "ms)");
        }
        long timeout = requestedMs > 0 ? requestedMs : policy.exec().defaultTimeout().toMillis();
        if (deadlineMs > 0) {
            timeout = Math.min(timeout, Math.max(1, deadlineMs - nowMs));
        }
        return Duration.ofMillis(timeout);
    }

    public long outputCap(long requested) throws PolicyDeniedException {
        long max = policy.exec().maxOutputCap().bytes();
        if (requested < 0) {
            throw new PolicyDeniedException("policy.exec", "output_cap_bytes must not be negative");
        }
        if (requested > max) {
            throw new PolicyDeniedException("policy.exec.max_output_cap", "output cap " + requested
                    + " bytes exceeds policy.exec.max_output_cap (" + max + " bytes)");
        }
        return requested > 0 ? requested : policy.exec().defaultOutputCap().bytes();
    }

    /** The longest any process may run (a session's persistent shell lives at most this long). */
    public Duration maxExecTimeout() {
        return policy.exec().maxTimeout();
    }

    /** The most output any one process may relay. */
    public long maxOutputCap() {
        return policy.exec().maxOutputCap().bytes();
    }

    public long maxFileBytes() {
        return policy.maxFileBytes().bytes();
    }
}
