package io.airlock.driver;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running exec, supervised the same way for every driver: output is relayed in chunks
 * numbered across stdout and stderr, output past the cap is drained but dropped (so the
 * process is never stuck on a full pipe) and flagged, and the process is killed at its
 * timeout. Pumps run on virtual threads: they spend their lives blocked on pipes.
 */
public final class Execution {
    private static final Logger log = LoggerFactory.getLogger(Execution.class);
    private static final int CHUNK = 32 * 1024;
    /** After exit, how long pumps may still take to drain what the process left in its pipes. */
    private static final Duration DRAIN_AFTER_EXIT = Duration.ofSeconds(5);

    private final SandboxProcess process;
    private final ExecSpec spec;
    private final OutputListener listener;
    private final ReentrantLock relayLock = new ReentrantLock();
    private final CompletableFuture<ExecOutcome> outcome = new CompletableFuture<>();
    private final long startNanos = System.nanoTime();
    private long seq;
    private long relayed;
    private long stdoutBytes;
    private long stderrBytes;
    private boolean truncated;

    private Execution(SandboxProcess process, ExecSpec spec, OutputListener listener) {
        this.process = process;
        this.spec = spec;
        this.listener = listener;
    }

    /** Starts {@code spec} in the sandbox and begins relaying its output to {@code listener}. */
    public static Execution start(SandboxDriver driver, String sandboxId, ExecSpec spec, OutputListener listener)
            throws DriverException {
        if (spec.tty() != null && !driver.capabilities().contains(Capability.EXEC_TTY)) {
            throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + driver.name()
                    + " driver cannot run processes on a terminal (StartExec.tty); run without tty");
        }
        SandboxProcess process = driver.start(sandboxId, spec);
        Execution execution = new Execution(process, spec, listener);
        if (!spec.stdin()) {
            execution.closeStdinQuietly();
        }
        execution.supervise();
        return execution;
    }

    /** The process's stdin; closing it delivers end-of-file. Only meaningful when the spec asked for stdin. */
    public OutputStream stdin() {
        return process.stdin();
    }

    /** Completes when the process has exited and all output (up to the cap) was relayed. */
    public CompletableFuture<ExecOutcome> outcome() {
        return outcome;
    }

    /** Waits at most {@code max} for the outcome. */
    public ExecOutcome await(Duration max) throws InterruptedException, TimeoutException {
        try {
            return outcome.get(max.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException("exec supervision failed", e.getCause());
        }
    }

    /** Delivers a signal to the process. */
    public void signal(ProcessSignal signal) throws DriverException {
        process.signal(signal);
    }

    /** Resizes the process's terminal. */
    public void resize(TerminalSize size) throws DriverException {
        if (spec.tty() == null) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "resize: this exec has no terminal (expected: StartExec.tty)");
        }
        process.resize(size);
    }

    /** Kills the process (for example when the caller went away); the outcome still completes. */
    public void kill() {
        process.kill();
    }

    private void supervise() {
        Thread out = Thread.ofVirtual().name("exec-stdout").start(() -> pump(process.stdout(), OutputChunk.Stream.STDOUT));
        Thread err = Thread.ofVirtual().name("exec-stderr").start(() -> pump(process.stderr(), OutputChunk.Stream.STDERR));
        Thread.ofVirtual().name("exec-wait").start(() -> awaitExit(out, err));
    }

    private void awaitExit(Thread out, Thread err) {
        try {
            OptionalInt exit = process.waitFor(spec.timeout());
            boolean timedOut = exit.isEmpty();
            if (timedOut) {
                process.kill();
                exit = process.waitFor(Duration.ofSeconds(10));
            }
            // A process may leave children holding the pipes open; do not wait for them forever.
            if (!out.join(DRAIN_AFTER_EXIT) || !err.join(DRAIN_AFTER_EXIT)) {
                log.warn("exec output still open {} after exit; killing what is left", DRAIN_AFTER_EXIT);
                process.kill();
                out.interrupt();
                err.interrupt();
            }
            int code = exit.orElse(137);
            relayLock.lock();
            try {
                outcome.complete(new ExecOutcome(code, timedOut, truncated, stdoutBytes, stderrBytes,
                        Duration.ofNanos(System.nanoTime() - startNanos)));
            } finally {
                relayLock.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.kill();
            outcome.completeExceptionally(e);
        } catch (RuntimeException e) {
            process.kill();
            outcome.completeExceptionally(e);
        }
    }

    private void pump(InputStream in, OutputChunk.Stream stream) {
        byte[] buf = new byte[CHUNK];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n > 0) {
                    relay(stream, buf, n);
                }
            }
        } catch (IOException e) {
            // The pipe closes under us when the process is killed; nothing was lost that was relayable.
            log.debug("{} pump ended: {}", stream, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void relay(OutputChunk.Stream stream, byte[] buf, int n) throws InterruptedException {
        relayLock.lock();
        try {
            if (stream == OutputChunk.Stream.STDOUT) {
                stdoutBytes += n;
            } else {
                stderrBytes += n;
            }
            long room = spec.outputCap() - relayed;
            int keep = (int) Math.min(n, Math.max(0, room));
            if (keep < n) {
                truncated = true;
            }
            if (keep == 0) {
                return;
            }
            relayed += keep;
            listener.onOutput(new OutputChunk(++seq, stream, Arrays.copyOf(buf, keep)));
        } finally {
            relayLock.unlock();
        }
    }

    private void closeStdinQuietly() {
        try {
            process.stdin().close();
        } catch (IOException e) {
            log.debug("closing stdin: {}", e.toString());
        }
    }
}
