package io.airlock.controlplane.cli;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Where {@code airlock cp} writes, the one class that names the process's streams: lines and
 * tables to stdout, errors to stderr, an exec's output bytes as they came (binary output stays
 * binary). Each write is flushed, so stdout and stderr interleave as they happened. Tests give
 * the command line a {@link #captured} one and read what a person would have seen.
 */
public final class CliOutput {
    private final Supplier<OutputStream> out;
    private final Supplier<OutputStream> err;

    private CliOutput(Supplier<OutputStream> out, Supplier<OutputStream> err) {
        this.out = out;
        this.err = err;
    }

    /** The process's stdout and stderr, looked up at each write (a test may have replaced them since). */
    public static CliOutput system() {
        return new CliOutput(() -> System.out, () -> System.err);
    }

    /** Output kept in memory, for {@link #stdout} and {@link #stderr}. */
    public static Captured captured() {
        return new Captured(new ByteArrayOutputStream(), new ByteArrayOutputStream());
    }

    /** What a command wrote, in memory. */
    public static final class Captured {
        private final ByteArrayOutputStream out;
        private final ByteArrayOutputStream err;
        final CliOutput output;

        private Captured(ByteArrayOutputStream out, ByteArrayOutputStream err) {
            this.out = out;
            this.err = err;
            this.output = new CliOutput(() -> out, () -> err);
        }

        public CliOutput output() {
            return output;
        }

        public String stdout() {
            return out.toString(StandardCharsets.UTF_8);
        }

        public String stderr() {
            return err.toString(StandardCharsets.UTF_8);
        }

        /** Picocli's own writers (help, usage errors) on the same buffers. */
        PrintWriter outWriter() {
            return new PrintWriter(new PrintStream(out, true, StandardCharsets.UTF_8), true);
        }

        PrintWriter errWriter() {
            return new PrintWriter(new PrintStream(err, true, StandardCharsets.UTF_8), true);
        }
    }

    /** The output of the {@code airlock cp} command line {@code spec} belongs to. */
    static CliOutput of(CommandSpec spec) {
        for (CommandSpec s = spec; s != null; s = s.parent()) {
            if (s.userObject() instanceof ControlPlaneCommand cp) {
                return cp.output;
            }
        }
        return system();
    }

    private static void write(OutputStream to, byte[] bytes) {
        synchronized (to) {
            try {
                to.write(bytes);
                to.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public void println(String line) {
        write(out.get(), (line + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
    }

    public void printf(String format, Object... args) {
        write(out.get(), String.format(format, args).getBytes(StandardCharsets.UTF_8));
    }

    /** A line on stderr: errors, warnings, what a command says beside its output. */
    public void errln(String line) {
        write(err.get(), (line + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
    }

    /** An exec's output as it came, on stdout or stderr. */
    public void bytes(boolean stderr, ByteString data) {
        write(stderr ? err.get() : out.get(), data.toByteArray());
    }
}
