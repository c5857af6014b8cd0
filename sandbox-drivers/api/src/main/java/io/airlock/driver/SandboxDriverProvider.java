package io.airlock.driver;

import java.util.Map;
import java.util.Optional;

/**
 * Finds and creates one kind of driver; implementations are listed in
 * {@code META-INF/services/io.airlock.driver.SandboxDriverProvider}.
 */
public interface SandboxDriverProvider {
    /** The name used in configuration, e.g. {@code bubblewrap}. */
    String name();

    /** One line for logs and {@code --help}. */
    String description();

    /**
     * Why this driver cannot run on this host (a missing binary, no permission), or empty when
     * it can. The message says what to install or change.
     */
    Optional<String> unavailableReason();

    /**
     * What stops the driver from running with these options (its configuration section), with
     * the fix, or empty when it can run; for {@code airlock doctor}. Defaults to {@link #unavailableReason()}.
     */
    default Optional<String> check(Map<String, Object> options) {
        return unavailableReason();
    }

    /**
     * The first mistake in these options (its configuration section): an unknown key, a bad
     * value, naming the field ({@code drivers.options.NAME.KEY}) and what it expects; empty when
     * they are fine. The daemon, {@code airlock config check} and {@code airlock doctor} all ask
     * this, so none of them accepts what another refuses.
     */
    default Optional<String> optionsProblem(Map<String, Object> options) {
        return Optional.empty();
    }

    /** Higher wins when configuration names no default driver. */
    int priority();

    SandboxDriver create(DriverContext context) throws DriverException;
}
