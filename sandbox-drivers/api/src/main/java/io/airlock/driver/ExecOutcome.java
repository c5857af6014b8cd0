package io.airlock.driver;

import java.time.Duration;

/**
 * How an exec ended.
 *
 * @param exitCode        the process's exit code; 128+N when killed by signal N
 * @param timedOut        killed because it ran past its timeout
 * @param outputTruncated output past the cap was dropped
 */
public record ExecOutcome(int exitCode, boolean timedOut, boolean outputTruncated, long stdoutBytes,
        long stderrBytes, Duration duration) {}
