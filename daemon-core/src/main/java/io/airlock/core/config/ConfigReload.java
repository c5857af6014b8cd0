package io.airlock.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What a SIGHUP can change in a running daemon. Applied at once: {@code log}, {@code drain} and
 * {@code policy} (new requests see it; nothing running is touched), except the policy fields
 * that sized something at start. Everything else (state directory, control plane, drivers,
 * audit, admin, mcp, and those policy fields) keeps its running value until a restart, and is named
 * so the operator knows.
 */
public final class ConfigReload {
    private ConfigReload() {}

    /**
     * @param config        what the daemon runs with from now on
     * @param applied       sections whose new values took effect
     * @param restartNeeded fields that changed but wait for a restart
     */
    public record Result(DaemonConfig config, List<String> applied, List<String> restartNeeded) {}

    public static Result merge(DaemonConfig running, DaemonConfig next) {
        List<String> applied = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        changed(running.stateDir(), next.stateDir(), "state_dir", restart);
        changed(running.controlPlane(), next.controlPlane(), "control_plane", restart);
        changed(running.drivers(), next.drivers(), "drivers", restart);
        changed(running.audit(), next.audit(), "audit", restart);
        changed(running.admin(), next.admin(), "admin", restart);
        // The tunnel's upstreams, their TLS contexts and sessions are built at start.
        changed(running.mcp(), next.mcp(), "mcp", restart);
        DaemonConfig.Policy p = next.policy();
        DaemonConfig.Policy r = running.policy();
        // The command semaphore and the reaper are sized at start.
        changed(r.maxConcurrentCommands(), p.maxConcurrentCommands(), "policy.max_concurrent_commands", restart);
        changed(r.maxLifetime(), p.maxLifetime(), "policy.max_lifetime", restart);
        changed(r.idleTimeout(), p.idleTimeout(), "policy.idle_timeout", restart);
        // The proxy, its listeners and the drivers' sandbox networks are set up from it at start.
        changed(r.egress(), p.egress(), "policy.egress", restart);
        DaemonConfig.Policy policy = new DaemonConfig.Policy(p.maxSandboxes(), r.maxConcurrentCommands(), p.exec(), p.limits(),
                p.maxFileBytes(), r.maxLifetime(), r.idleTimeout(), r.egress());
        changed(r, policy, "policy", applied);
        changed(running.drain(), next.drain(), "drain", applied);
        changed(running.environments(), next.environments(), "environments", restart);
        changed(running.log(), next.log(), "log", applied);
        DaemonConfig merged = new DaemonConfig(running.stateDir(), running.controlPlane(), running.drivers(), policy, next.drain(),
                running.audit(), running.admin(), next.log(), running.mcp(), running.environments());
        return new Result(merged, List.copyOf(applied), List.copyOf(restart));
    }

    private static void changed(Object before, Object after, String name, List<String> into) {
        if (!Objects.equals(before, after)) {
            into.add(name);
        }
    }
}
