package io.airlock.driver;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.OptionalInt;

/**
 * The stdout of a {@code tar -c} running in a sandbox, as a stream that ends in an IOException
 * (with tar's own words) when tar failed, so a reader never takes a short archive for a whole
 * one. Closing it early kills tar.
 */
public final class TarProcessStream extends FilterInputStream {
    private static final int MAX_STDERR = 4096;
    private final SandboxProcess process;
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final Thread stderrReader;
    private boolean ended;

    public TarProcessStream(SandboxProcess process) {
        super(process.stdout());
        this.process = process;
        this.stderrReader = Thread.ofVirtual().name("tar-stderr").start(() -> keepStderr(process.stderr(), stderr));
    }

    /** Keeps the first few KiB of what a process says on stderr (and drains the rest, so it never blocks). */
    public static void keepStderr(InputStream in, ByteArrayOutputStream into) {
        byte[] buf = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                synchronized (into) {
                    into.write(buf, 0, Math.min(n, Math.max(0, MAX_STDERR - into.size())));
                }
            }
        } catch (IOException e) {
            // the process is gone; what we kept is what there is
        }
    }

    /** Waits for {@code process} and fails with its stderr when it exited non-zero. */
    public static void requireSuccess(SandboxProcess process, Thread stderrReader, ByteArrayOutputStream stderr, String what)
            throws IOException {
        try {
            OptionalInt code = process.waitFor(Duration.ofSeconds(60));
            stderrReader.join(Duration.ofSeconds(5));
            if (code.isEmpty()) {
                process.kill();
                throw new IOException(what + " did not exit");
            }
            if (code.getAsInt() != 0) {
                String said;
                synchronized (stderr) {
                    said = stderr.toString(StandardCharsets.UTF_8).strip();
                }
                throw new IOException(what + " failed (exit " + code.getAsInt() + "): " + said);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.kill();
            throw new IOException("interrupted while waiting for " + what);
        }
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            end();
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
            end();
        }
        return n;
    }

    private void end() throws IOException {
        if (!ended) {
            ended = true;
            requireSuccess(process, stderrReader, stderr, "tar");
        }
    }

    @Override
    public void close() throws IOException {
        if (!ended) {
            process.kill();
        }
        super.close();
    }
}
