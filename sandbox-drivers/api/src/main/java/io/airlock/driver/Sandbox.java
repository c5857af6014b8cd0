package io.airlock.driver;

import java.time.Instant;
import java.util.Map;

/** A sandbox as its driver reports it. */
public record Sandbox(String id, String driver, SandboxState state, Instant createdAt, ResourceLimits limits,
        Map<String, String> env, Map<String, String> labels) {
    public Sandbox {
        env = Map.copyOf(env);
        labels = Map.copyOf(labels);
    }
}
