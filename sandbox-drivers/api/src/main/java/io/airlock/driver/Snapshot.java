package io.airlock.driver;

import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A sandbox's state saved under a name, from which new sandboxes can be provisioned (image
 * {@code snapshot:<name>}).
 *
 * @param sourceSandboxId the sandbox it was taken from
 * @param sizeBytes       what it takes on the host, as the backend reports it
 */
public record Snapshot(String name, String sourceSandboxId, Instant createdAt, long sizeBytes) {
    /** The image prefix that asks a driver to provision from a snapshot. */
    public static final String IMAGE_PREFIX = "snapshot:";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    public static void requireValidName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("snapshot name: '" + name
                    + "' (expected: 1-63 characters of [a-z0-9-], starting with a letter or digit)");
        }
    }
}
