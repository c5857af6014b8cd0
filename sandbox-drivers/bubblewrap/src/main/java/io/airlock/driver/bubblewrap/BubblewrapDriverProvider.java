package io.airlock.driver.bubblewrap;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Finds {@code bwrap} and creates {@link BubblewrapDriver}s. */
public final class BubblewrapDriverProvider implements SandboxDriverProvider {
    static final String NAME = "bubblewrap";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Linux namespaces via bubblewrap (bwrap): no network, read-only host /usr, cgroup or rlimit limits";
    }

    @Override
    public Optional<String> unavailableReason() {
        return findBwrap(null).isPresent() ? Optional.empty()
                : Optional.of("'bwrap' not found on PATH; install it (Debian/Ubuntu: apt-get install bubblewrap)");
    }

    @Override
    public Optional<String> optionsProblem(Map<String, Object> options) {
        for (String key : options.keySet()) {
            if (!key.equals("bwrap_path")) {
                return Optional.of("drivers.options.bubblewrap." + key + ": unknown option (expected one of: bwrap_path)");
            }
        }
        return Optional.empty();
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public SandboxDriver create(DriverContext context) throws DriverException {
        Object configured = context.options().get("bwrap_path");
        Path bwrap = findBwrap(configured == null ? null : configured.toString())
                .orElseThrow(() -> new DriverException(DriverException.Kind.UNAVAILABLE, unavailableReason().orElse("bwrap missing")));
        return new BubblewrapDriver(context, bwrap, ResourceControl.detect(context.agentId()));
    }

    static Optional<Path> findBwrap(String configured) {
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, "bwrap");
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
