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

    /** Delivers {@code signal} to the process (capability {@link Capability#EXEC_SIGNAL}). */
    default void signal(ProcessSignal signal) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "this driver cannot send signals to a process");
    }

    /** Resizes the process's terminal (capability {@link Capability#EXEC_TTY}; only for a spec with a tty). */
    default void resize(TerminalSize size) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "this driver cannot run processes on a terminal");
    }
}
