package io.airlock.driver;

import java.io.OutputStream;

/**
 * A file being written into a workspace: {@link #close()} makes the content visible atomically;
 * {@link #abort()} discards it (the sender went away mid-file, or the file grew past a limit),
 * so a partial upload never replaces a good file.
 */
public abstract class FileUpload extends OutputStream {
    /** Discards what was written; the target is left as it was. Idempotent; close() after abort() does nothing. */
    public abstract void abort();
}
