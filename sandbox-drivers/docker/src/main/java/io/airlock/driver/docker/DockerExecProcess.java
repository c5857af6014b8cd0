package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectExecResponse;
import io.airlock.driver.DriverException;
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.TerminalSize;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An exec on a hijacked engine connection. A virtual thread splits the engine's frames
 * (8-byte header: stream, 0, 0, 0, big-endian length) into a stdout and a stderr pipe; a full
 * pipe stops it reading the socket, so a slow reader holds the process back instead of
 * filling memory. On a terminal the engine sends raw bytes instead (one merged stream).
 */
final class DockerExecProcess implements SandboxProcess {
    private static final Logger log = LoggerFactory.getLogger(DockerExecProcess.class);
    private static final int PIPE = 64 * 1024;

    private final DockerClient docker;
    private final String execId;
    private final EngineSocket.Hijacked stream;
    private final PipedInputStream stdout = new PipedInputStream(PIPE);
    private final PipedInputStream stderr = new PipedInputStream(PIPE);
    private final Thread demux;
    private final OutputStream stdin;
    private final Signaller signaller;

    /** Runs {@code kill} inside the exec's container (the engine has no API to signal an exec). */
    @FunctionalInterface
    interface Signaller {
        void signal(long pidInContainer, ProcessSignal signal) throws DriverException;
    }

    DockerExecProcess(DockerClient docker, String execId, EngineSocket.Hijacked stream, boolean tty, Signaller signaller)
            throws IOException {
        this.docker = docker;
        this.execId = execId;
        this.stream = stream;
        this.signaller = signaller;
        PipedOutputStream out = new PipedOutputStream(stdout);
        PipedOutputStream err = new PipedOutputStream(stderr);
        this.stdin = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                stream.stdin().write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                stream.stdin().write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                stream.closeStdin();
            }
        };
        this.demux = tty
                ? Thread.ofVirtual().name("docker-exec-tty").start(() -> copyRaw(out, err))
                : Thread.ofVirtual().name("docker-exec-demux").start(() -> demux(out, err));
    }

    private void copyRaw(PipedOutputStream out, PipedOutputStream err) {
        try (out; err) {
            stream.frames().transferTo(out);
        } catch (IOException e) {
            log.debug("exec {} terminal stream ended: {}", execId, e.toString());
        }
    }

    private void demux(PipedOutputStream out, PipedOutputStream err) {
        DataInputStream in = new DataInputStream(stream.frames());
        byte[] header = new byte[8];
        byte[] buf = new byte[32 * 1024];
        try (out; err) {
            while (true) {
                try {
                    in.readFully(header);
                } catch (EOFException e) {
                    return;
                }
                int length = ((header[4] & 0xff) << 24) | ((header[5] & 0xff) << 16) | ((header[6] & 0xff) << 8) | (header[7] & 0xff);
                OutputStream target = header[0] == 2 ? err : out;
                while (length > 0) {
                    int n = in.read(buf, 0, Math.min(buf.length, length));
                    if (n < 0) {
                        return;
                    }
                    target.write(buf, 0, n);
                    length -= n;
                }
            }
        } catch (IOException e) {
            log.debug("exec {} stream ended: {}", execId, e.toString());
        }
    }

    @Override
    public OutputStream stdin() {
        return stdin;
    }

    @Override
    public InputStream stdout() {
        return stdout;
    }

    @Override
    public InputStream stderr() {
        return stderr;
    }

    @Override
    public OptionalInt waitFor(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        if (!demux.join(max)) {
            return OptionalInt.empty();
        }
        // The output ends when the process exits; the engine records the exit code a moment later.
        long pause = 1;
        while (true) {
            InspectExecResponse r;
            try {
                r = docker.inspectExecCmd(execId).exec();
            } catch (RuntimeException e) {
                log.warn("cannot inspect exec {}: {}", execId, e.toString());
                return OptionalInt.of(255);
            }
            if (!Boolean.TRUE.equals(r.isRunning())) {
                closeQuietly();
                Long code = r.getExitCodeLong();
                return OptionalInt.of(code == null ? 255 : code.intValue());
            }
            if (System.nanoTime() > deadline) {
                return OptionalInt.empty();
            }
            // Usually a millisecond or two: poll fast first, then back off.
            Thread.sleep(pause);
            pause = Math.min(10, pause * 2);
        }
    }

    @Override
    public void resize(TerminalSize size) throws DriverException {
        try {
            docker.resizeExecCmd(execId).withSize(size.rows(), size.columns()).exec();
        } catch (RuntimeException e) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "cannot resize the terminal of exec " + execId
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * Signals the process from inside its container, where the sandbox user may signal its own
     * processes; the daemon itself may not be allowed to signal them on the host. The pid inside
     * the container's pid namespace is the last field of NSpid in the host's /proc/PID/status.
     */
    @Override
    public void signal(ProcessSignal signal) throws DriverException {
        Long hostPid;
        try {
            InspectExecResponse r = docker.inspectExecCmd(execId).exec();
            if (!Boolean.TRUE.equals(r.isRunning())) {
                throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "exec " + execId + " is no longer running");
            }
            hostPid = r.getPidLong();
        } catch (RuntimeException e) {
            throw new DriverException(DriverException.Kind.UNAVAILABLE, "cannot inspect exec " + execId + ": " + e.getMessage(), e);
        }
        signaller.signal(pidInContainer(hostPid == null ? 0 : hostPid), signal);
    }

    private static long pidInContainer(long hostPid) throws DriverException {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(hostPid), "status"))) {
                if (line.startsWith("NSpid:")) {
                    String[] pids = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(pids[pids.length - 1]);
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new DriverException(DriverException.Kind.UNAVAILABLE, "cannot find the exec's process (host pid " + hostPid
                    + "): " + e.getMessage() + "; the daemon must share the engine's pid namespace to signal execs", e);
        }
        throw new DriverException(DriverException.Kind.UNAVAILABLE, "no NSpid for host pid " + hostPid + " (kernel older than 4.1?)");
    }

    /**
     * Kills the exec's process tree. The engine has no API to kill one exec, so this goes by its
     * host pid, which needs the daemon to be allowed to signal it (root, or the same uid).
     */
    @Override
    public void kill() {
        try {
            Long pid = docker.inspectExecCmd(execId).exec().getPidLong();
            if (pid != null && pid > 0) {
                ProcessHandle.of(pid).ifPresent(p -> {
                    // The parent first: a shell whose child died first would run its next command meanwhile.
                    List<ProcessHandle> descendants = p.descendants().toList();
                    p.destroyForcibly();
                    descendants.forEach(ProcessHandle::destroyForcibly);
                });
            }
        } catch (RuntimeException e) {
            log.warn("cannot kill exec {}: {}", execId, e.toString());
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            stream.close();
        } catch (IOException e) {
            log.debug("closing exec stream: {}", e.toString());
        }
    }
}
