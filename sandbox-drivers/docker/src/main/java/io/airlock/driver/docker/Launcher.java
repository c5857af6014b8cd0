package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import io.airlock.driver.ExecSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An exec started ahead of time in a warm container, waiting for one command line on stdin,
 * so a sandbox's first command does not pay for creating and starting an exec (about 60 ms on
 * a small host: most of a claim's cost). The shell reads exactly one line (sh's read takes a
 * pipe byte by byte, so the rest of stdin is left for the command) and then execs the command in
 * its own place: same pid, same hijacked stream, so exit code, kill and signals work as for any
 * exec. The line is built from single-quoted words only, so nothing in a command is ever
 * interpreted by the shell; specs it cannot express (a terminal, a newline or NUL in a word) go
 * through a normal exec instead.
 */
final class Launcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Launcher.class);
    static final String SCRIPT = "IFS= read -r airlock_command || exit 125; eval \"$airlock_command\"";

    final String execId;
    private final EngineSocket.Hijacked stream;

    private Launcher(String execId, EngineSocket.Hijacked stream) {
        this.execId = execId;
        this.stream = stream;
    }

    /** Starts a launcher in {@code container} as {@code user}, in the workspace. */
    static Launcher start(DockerClient docker, EngineSocket engine, String container, String user) throws IOException {
        String execId = docker.execCreateCmd(container).withCmd("sh", "-c", SCRIPT).withUser(user).withWorkingDir(DockerDriver.WORKSPACE)
                .withAttachStdin(true).withAttachStdout(true).withAttachStderr(true).exec().getId();
        return new Launcher(execId, engine.startExec(execId, false));
    }

    /** True when {@code spec} (with the sandbox's env merged in) can be sent as one line. */
    static boolean canRun(ExecSpec spec, Map<String, String> env) {
        // env(1) would take a program name with "=" for a variable and one starting with "-" for an option.
        String program = spec.argv().getFirst();
        if (spec.tty() != null || program.contains("=") || program.startsWith("-") || env.keySet().stream().anyMatch(k -> k.isEmpty() || k.contains("="))) {
            return false;
        }
        List<String> words = new ArrayList<>(spec.argv());
        words.add(spec.workingDir());
        env.forEach((k, v) -> {
            words.add(k);
            words.add(v);
        });
        return words.stream().noneMatch(w -> w.indexOf('\n') >= 0 || w.indexOf('\0') >= 0 || w.indexOf('\r') >= 0);
    }

    /** Hands the command over; from now on the stream is the command's. */
    EngineSocket.Hijacked run(String workingDirectory, Map<String, String> env, List<String> argv) throws IOException {
        StringBuilder line = new StringBuilder();
        if (!workingDirectory.equals(DockerDriver.WORKSPACE)) {
            line.append("cd ").append(quote(workingDirectory)).append(" && ");
        }
        line.append("exec env");
        env.forEach((k, v) -> line.append(' ').append(quote(k + "=" + v)));
        for (String word : argv) {
            line.append(' ').append(quote(word));
        }
        line.append('\n');
        stream.stdin().write(line.toString().getBytes(StandardCharsets.UTF_8));
        stream.stdin().flush();
        return stream;
    }

    /**
     * Whether its shell still waits, checked without an engine round trip: the engine closes an
     * exec's stream when the exec ends, so a dead launcher shows end-of-stream at once. Nothing
     * reads the stream before the launcher is used, and the shell writes nothing before its
     * command runs, so peeking one byte without blocking loses nothing.
     */
    boolean isAlive() {
        var channel = stream.channel();
        try {
            synchronized (channel.blockingLock()) {
                channel.configureBlocking(false);
                try {
                    return channel.isOpen() && channel.read(ByteBuffer.allocate(1)) == 0;
                } finally {
                    channel.configureBlocking(true);
                }
            }
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether its shell still waits (an engine restart ends every exec). */
    boolean isRunning(DockerClient docker) {
        try {
            return Boolean.TRUE.equals(docker.inspectExecCmd(execId).exec().isRunning());
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A POSIX single-quoted word: only ' itself needs care ('\''). */
    static String quote(String word) {
        return "'" + word.replace("'", "'\\''") + "'";
    }

    /** An unused launcher: closing its stdin makes the shell's read fail and the exec end. */
    @Override
    public void close() {
        try {
            stream.close();
        } catch (IOException e) {
            log.debug("closing launcher {}: {}", execId, e.toString());
        }
    }
}
