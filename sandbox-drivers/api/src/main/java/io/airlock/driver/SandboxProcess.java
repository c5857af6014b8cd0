package io.airlock.driver;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * A raw process a driver started in a sandbox. {@link Execution} wraps it with sequence
 * numbers, the output cap and the timeout, so drivers only have to provide the plumbing.
 */
public interface SandboxProcess {
    /** Closing it must deliver end-of-file to the process. */
    OutputStream stdin();

    InputStream stdout();

    InputStream stderr();

    /** Waits up to {@code max}; empty if the process is still running. */
    OptionalInt waitFor(Duration max) throws InterruptedException;

    /** Kills the process and everything it started; idempotent. */
    void kill();
}
