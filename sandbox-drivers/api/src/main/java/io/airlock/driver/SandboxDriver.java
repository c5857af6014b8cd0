package io.airlock.driver;

import java.io.InputStream;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A backend that hosts sandboxes. Implementations are thread-safe: the daemon calls them from
 * many threads at once. Every method that names a sandbox fails with
 * {@link DriverException.Kind#NOT_FOUND} when it does not exist.
 */
public interface SandboxDriver extends AutoCloseable {
    /** The name used in configuration and reported to the control plane. */
    String name();

    Set<Capability> capabilities();

    /**
     * Creates a sandbox, or returns the existing one with the same id (idempotent: a retried
     * provision never creates a second sandbox).
     */
    Sandbox provision(SandboxSpec spec) throws DriverException;

    Optional<Sandbox> get(String sandboxId);

    List<Sandbox> list();

    /**
     * Starts a process. Callers normally use {@link Execution#start} instead, which adds
     * sequence numbers, the output cap and the timeout.
     */
    SandboxProcess start(String sandboxId, ExecSpec spec) throws DriverException;

    /**
     * Opens a workspace file for writing; the content becomes visible, atomically, when the
     * upload is closed, and is discarded by {@link FileUpload#abort()}. Paths escaping the workspace are refused with FAILED_PRECONDITION.
     */
    FileUpload openWrite(String sandboxId, String path, int mode) throws DriverException;

    /** Opens a workspace file for reading. */
    InputStream openRead(String sandboxId, String path) throws DriverException;

    /** Lists a workspace directory; {@code path} empty for the workspace itself. */
    List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException;

    /** Type, size and modification time of one workspace path (a final symlink is not followed). */
    FileEntry stat(String sandboxId, String path) throws DriverException;

    /**
     * Extracts a tar stream into directory {@code path} of the workspace, created when missing
     * (capability {@link Capability#FILES_ARCHIVE}). Entries pass {@link SafeTar} first; they are
     * extracted as they arrive, so a refused entry or a broken stream may leave the earlier ones.
     */
    default SafeTar.Summary extractArchive(String sandboxId, String path, InputStream tar) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver cannot extract archives");
    }

    /**
     * A tar of {@code path} (a file or a directory; entry names start with its base name, or with
     * "workspace" for the workspace itself). A failure part-way is an IOException from the stream,
     * never a silently short archive.
     */
    default InputStream openArchiveRead(String sandboxId, String path) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver cannot produce archives");
    }

    /**
     * Saves the sandbox's workspace (and whatever else of its state the backend can keep) as
     * snapshot {@code name} (capability {@link Capability#SNAPSHOT}); new sandboxes provisioned
     * with image {@code snapshot:<name>} start from it. A name in use is refused.
     */
    default Snapshot snapshot(String sandboxId, String name) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver cannot take snapshots");
    }

    /** This agent's snapshots, oldest first. */
    default List<Snapshot> snapshots() throws DriverException {
        return List.of();
    }

    /** Deletes a snapshot; deleting a missing one is not an error; one still in use by a sandbox is refused. */
    default void deleteSnapshot(String name) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver has no snapshots");
    }

    /** Destroys a sandbox and everything running in it. Destroying a missing sandbox is not an error. */
    void destroy(String sandboxId) throws DriverException;

    /**
     * Rebuilds the driver's view from what the backend holds (after a daemon restart): adopts
     * what belongs to this agent, never touches anything else, and returns the live sandboxes.
     */
    List<Sandbox> reconcile() throws DriverException;

    /** Freezes every process in the sandbox (capability {@link Capability#PAUSE}); idempotent. */
    default Sandbox pause(String sandboxId) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver cannot pause sandboxes");
    }

    /** Thaws a paused sandbox; idempotent. */
    default Sandbox resume(String sandboxId) throws DriverException {
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the " + name() + " driver cannot pause or resume sandboxes");
    }

    /**
     * Why the driver cannot serve right now (its backend went away), or empty when it can. A
     * driver recovers by itself when the backend returns; callers poll this to report it.
     */
    default Optional<String> unavailableReason() {
        return Optional.empty();
    }

    @Override
    void close();
}
