package io.airlock.driver;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * Integration tests call this for what they need from the host (bubblewrap, Docker, npm
 * packages). Without it a test is aborted with a message naming what to install; when the
 * system property {@code airlock.requirePrerequisites} is true (CI sets it) it fails instead,
 * so CI never passes by skipping.
 */
public final class Prerequisites {
    private Prerequisites() {}

    public static void require(String what, Optional<String> missingReason) {
        if (missingReason.isEmpty()) {
            return;
        }
        String message = "prerequisite missing: " + what + ": " + missingReason.get();
        if (Boolean.parseBoolean(System.getProperty("airlock.requirePrerequisites", "false"))) {
            fail(message + " (airlock.requirePrerequisites=true, so this fails instead of skipping)");
        }
        Assumptions.abort(message);
    }

    /** Requires an executable on PATH. */
    public static void requireExecutable(String name, String installHint) {
        require(name, findOnPath(name).isPresent() ? Optional.empty()
                : Optional.of("'" + name + "' not found on PATH; " + installHint));
    }

    public static Optional<Path> findOnPath(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            Path candidate = Path.of(dir, name);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
