package io.airlock.driver;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A sandbox as its driver reports it; {@code volumes} as provisioned ({@link SandboxSpec#volumes()}). */
public record Sandbox(String id, String driver, SandboxState state, Instant createdAt, ResourceLimits limits,
        Map<String, String> env, Map<String, String> labels, List<String> volumes) {
    public Sandbox {
        env = Map.copyOf(env);
        labels = Map.copyOf(labels);
        volumes = List.copyOf(volumes == null ? List.of() : volumes);
    }

    public Sandbox(String id, String driver, SandboxState state, Instant createdAt, ResourceLimits limits,
            Map<String, String> env, Map<String, String> labels) {
        this(id, driver, state, createdAt, limits, env, labels, List.of());
    }
}
