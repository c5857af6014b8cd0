package io.airlock.driver;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One process to run in a sandbox.
 *
 * @param argv       program and arguments; argv[0] is looked up on the sandbox's PATH
 * @param env        extra environment, on top of the sandbox's
 * @param workingDir relative to the workspace; empty for the workspace itself
 * @param timeout    the process is killed after this long
 * @param outputCap  stdout and stderr bytes relayed at most, together
 * @param stdin      false: stdin is closed at once; true: the caller writes it and closes it
 * @param tty        a terminal of this size for the process (stdout and stderr merged), or null for pipes
 */
public record ExecSpec(List<String> argv, Map<String, String> env, String workingDir, Duration timeout,
        long outputCap, boolean stdin, TerminalSize tty) {
    public ExecSpec {
        if (argv == null || argv.isEmpty() || argv.get(0).isEmpty()) {
            throw new IllegalArgumentException("argv: " + argv + " (expected: at least a program name)");
        }
        argv = List.copyOf(argv);
        env = Map.copyOf(env == null ? Map.of() : env);
        workingDir = workingDir == null ? "" : workingDir;
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        if (outputCap <= 0) {
            throw new IllegalArgumentException("outputCap: " + outputCap + " (expected: > 0)");
        }
    }

    public static ExecSpec of(String... argv) {
        return new ExecSpec(List.of(argv), Map.of(), "", Duration.ofMinutes(5), 16L << 20, false, null);
    }

    public ExecSpec withStdin(boolean stdin) {
        return new ExecSpec(argv, env, workingDir, timeout, outputCap, stdin, tty);
    }

    public ExecSpec withTimeout(Duration timeout) {
        return new ExecSpec(argv, env, workingDir, timeout, outputCap, stdin, tty);
    }

    public ExecSpec withTty(TerminalSize tty) {
        return new ExecSpec(argv, env, workingDir, timeout, outputCap, stdin, tty);
    }

    public ExecSpec withOutputCap(long outputCap) {
        return new ExecSpec(argv, env, workingDir, timeout, outputCap, stdin, tty);
    }
}
