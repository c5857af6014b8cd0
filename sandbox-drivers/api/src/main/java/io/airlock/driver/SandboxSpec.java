package io.airlock.driver;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What to provision. The id is chosen by the control plane and makes provisioning idempotent;
 * {@code image} is empty for the driver's default (drivers without images refuse a non-empty one);
 * {@code template} names one of the driver's configured templates, empty for its default;
 * {@code volumes} are absolute paths outside the workspace where the sandbox gets an empty,
 * writable directory of its own for its whole life ({@link SandboxVolumes}; drivers without
 * {@link Capability#VOLUMES} refuse a non-empty list).
 */
public record SandboxSpec(String id, ResourceLimits limits, Map<String, String> env, Map<String, String> labels, String image,
        String template, List<String> volumes) {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    public SandboxSpec {
        requireValidId(id);
        limits = limits == null ? ResourceLimits.NONE : limits;
        env = Map.copyOf(env == null ? Map.of() : env);
        labels = Map.copyOf(labels == null ? Map.of() : labels);
        image = image == null ? "" : image.strip();
        template = template == null ? "" : template.strip();
        volumes = List.copyOf(volumes == null ? List.of() : volumes);
        SandboxVolumes.check(volumes);
    }

    public SandboxSpec(String id, ResourceLimits limits, Map<String, String> env, Map<String, String> labels, String image,
            String template) {
        this(id, limits, env, labels, image, template, List.of());
    }

    public SandboxSpec(String id, ResourceLimits limits, Map<String, String> env, Map<String, String> labels, String image) {
        this(id, limits, env, labels, image, "");
    }

    public SandboxSpec(String id, ResourceLimits limits, Map<String, String> env, Map<String, String> labels) {
        this(id, limits, env, labels, "", "");
    }

    /** Sandbox ids end up in paths and cgroup names, so they are kept to a safe alphabet. */
    public static void requireValidId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("sandbox id: '" + id
                    + "' (expected: 1-63 characters of [a-z0-9-], starting with a letter or digit)");
        }
    }
}
