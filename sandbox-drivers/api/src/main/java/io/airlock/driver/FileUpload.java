package io.airlock.driver;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A file being written into a workspace: {@link #close()} makes the content visible atomically;
 * {@link #abort()} discards it (the sender went away mid-file, or the file grew past a limit),
 * so a partial upload never replaces a good file.
 */
public abstract class FileUpload extends OutputStream {
    /** Discards what was written; the target is left as it was. Idempotent; close() after abort() does nothing. */
    public abstract void abort();

    /** Publishes the written bytes (e.g. a rename, an archive upload). */
    @FunctionalInterface
    public interface Commit {
        void run() throws IOException;
    }

    /** Removes whatever {@code out} wrote to; runs after a commit (success or not) and on abort. */
    @FunctionalInterface
    public interface Cleanup {
        void run() throws IOException;
    }

    /**
     * The usual shape: bytes go to a private temporary {@code out}; close() closes it and runs
     * {@code commit}; abort() closes it without committing; {@code cleanup} runs either way.
     */
    public static FileUpload of(OutputStream out, Commit commit, Cleanup cleanup) {
        return new FileUpload() {
            private boolean finished;

            @Override
            public void write(int b) throws IOException {
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
            }

            @Override
            public void close() throws IOException {
                if (finished) {
                    return;
                }
                finished = true;
                try {
                    out.close();
                    commit.run();
                } finally {
                    cleanup.run();
                }
            }

            @Override
            public void abort() {
                if (finished) {
                    return;
                }
                finished = true;
                try {
                    out.close();
                } catch (IOException e) {
                    // discarding anyway
                }
                try {
                    cleanup.run();
                } catch (IOException e) {
                    // a private temporary; nothing depends on it
                }
            }
        };
    }
}
