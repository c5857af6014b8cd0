package io.airlock.daemon.policy;

import io.airlock.daemon.config.DaemonConfig;
import io.airlock.driver.ResourceLimits;
import java.time.Duration;

/**
 * Applies {@code policy:} from the configuration to each request: fills in defaults, refuses
 * what exceeds a maximum (never silently clamps, so the control plane learns what it may ask),
 * and names the rule in every denial.
 */
public final class LocalPolicy {
    private final DaemonConfig.Policy policy;

    public LocalPolicy(DaemonConfig.Policy policy) {
        this.policy = policy;
    }

    public int maxSandboxes() {
        return policy.maxSandboxes();
    }

    public int maxConcurrentCommands() {
        return policy.maxConcurrentCommands();
    }

    public void checkCapacity(int liveSandboxes) throws PolicyDeniedException {
        if (liveSandboxes >= policy.maxSandboxes()) {
            throw new PolicyDeniedException("policy.max_sandboxes", "this agent already runs " + liveSandboxes
                    + " sandboxes, the most policy.max_sandboxes allows (" + policy.maxSandboxes() + ")");
        }
    }

    /** Limits for a new sandbox: requested values within the maxima, defaults for the rest. */
    public ResourceLimits limits(long memoryBytes, int maxProcesses, long cpuSeconds, boolean driverLimitsProcesses)
            throws PolicyDeniedException {
        DaemonConfig.Limits l = policy.limits();
        if (memoryBytes < 0 || maxProcesses < 0 || cpuSeconds < 0) {
            throw new PolicyDeniedException("policy.limits", "resource limits must not be negative");
        }
        long maxMem = l.maxMemory().bytes();
        if (maxMem > 0 && memoryBytes > maxMem) {
            throw new PolicyDeniedException("policy.limits.max_memory", "memory " + memoryBytes + " bytes exceeds policy.limits.max_memory ("
                    + maxMem + " bytes)");
        }
        if (l.maxProcesses() > 0 && maxProcesses > l.maxProcesses()) {
            throw new PolicyDeniedException("policy.limits.max_processes", "max_processes " + maxProcesses
                    + " exceeds policy.limits.max_processes (" + l.maxProcesses() + ")");
        }
        if (l.maxCpuSeconds() > 0 && cpuSeconds > l.maxCpuSeconds()) {
            throw new PolicyDeniedException("policy.limits.max_cpu_seconds", "cpu_seconds " + cpuSeconds
                    + " exceeds policy.limits.max_cpu_seconds (" + l.maxCpuSeconds() + ")");
        }
        long memory = memoryBytes > 0 ? memoryBytes : l.defaultMemory().bytes();
        int processes = maxProcesses > 0 ? maxProcesses : (driverLimitsProcesses ? l.defaultMaxProcesses() : 0);
        long cpu = cpuSeconds > 0 ? cpuSeconds : l.maxCpuSeconds();
        return new ResourceLimits(memory, processes, cpu);
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

    public long maxFileBytes() {
        return policy.maxFileBytes().bytes();
    }
}
