package io.airlock.driver;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** An exec run to completion in a driver's sandbox, with its output split by stream; for driver tests. */
public record ExecRun(String stdout, String stderr, ExecOutcome outcome, List<OutputChunk> chunks) {
    public static final Duration WAIT = Duration.ofSeconds(90);

    /** Runs {@code spec}; {@code stdin} is written and closed when the spec asks for stdin. */
    public static ExecRun of(SandboxDriver driver, String sandboxId, ExecSpec spec, byte[] stdin) throws Exception {
        List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
        Execution execution = Execution.start(driver, sandboxId, spec, chunks::add);
        if (spec.stdin()) {
            try (OutputStream in = execution.stdin()) {
                in.write(stdin);
            }
        }
        ExecOutcome outcome = execution.await(WAIT);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        for (OutputChunk c : chunks) {
            (c.stream() == OutputChunk.Stream.STDOUT ? out : err).writeBytes(c.data());
        }
        return new ExecRun(out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), outcome, List.copyOf(chunks));
    }

    /** The text of one stream's chunks so far. */
    public static String text(List<OutputChunk> chunks, OutputChunk.Stream stream) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        chunks.stream().filter(c -> c.stream() == stream).forEach(c -> out.writeBytes(c.data()));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Waits until stdout so far contains {@code expected}; fails with what arrived when {@code max} passes. */
    public static void awaitOutput(List<OutputChunk> chunks, String expected, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!text(chunks, OutputChunk.Stream.STDOUT).contains(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + expected + "' in the output within " + max + "; got: " + text(chunks, OutputChunk.Stream.STDOUT));
            }
            Thread.sleep(20);
        }
    }

    /** Runs {@code sh -c script}. */
    public static ExecRun sh(SandboxDriver driver, String sandboxId, String script) throws Exception {
        return of(driver, sandboxId, ExecSpec.of("sh", "-c", script).withTimeout(Duration.ofSeconds(60)), null);
    }
}
