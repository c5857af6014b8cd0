package io.airlock.driver.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.DockerException;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.DriverException;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.SafeTar;
import io.airlock.driver.SandboxVolumes;
import io.airlock.driver.WorkspacePaths;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Files in a container's workspace through the engine's archive API. Paths are confined the
 * way {@link WorkspacePaths} does it for host directories, except that symlinks are looked up
 * inside the container (archive stat), component by component.
 */
final class ContainerFiles {
    static final int MAX_LISTING = 10_000;
    private static final int MAX_LINK_HOPS = 8;
    private static final String WS = DockerDriver.WORKSPACE;
    /** Go's os.ModeType: dir, symlink, device, named pipe, socket, char device, irregular. */
    private static final long GO_MODE_TYPE = (1L << 31) | (1L << 27) | (1L << 26) | (1L << 25) | (1L << 24) | (1L << 21) | (1L << 19);

    private final DockerClient docker;
    private final EngineSocket engine;
    private final Path spoolDir;
    private final int uid;
    private final int gid;

    ContainerFiles(DockerClient docker, EngineSocket engine, Path stateDir, String user) throws DriverException {
        this.docker = docker;
        this.engine = engine;
        this.spoolDir = stateDir.resolve("uploads");
        String[] ids = user.split(":");
        try {
            this.uid = Integer.parseInt(ids[0]);
            this.gid = ids.length > 1 ? Integer.parseInt(ids[1]) : uid;
            Files.createDirectories(spoolDir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (NumberFormatException e) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "drivers.options.docker.user: '" + user + "' (expected: uid:gid, numeric)");
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot create " + spoolDir + ": " + e.getMessage(), e);
        }
    }

    /** Where a relative path leads inside the container: its deepest existing directory and what is missing below it. */
    private record Located(String existing, List<String> missing, Optional<EngineSocket.PathStat> stat) {
        String path() {
            return missing.isEmpty() ? existing : existing + "/" + String.join("/", missing);
        }
    }

    /** The container path of a location's root: the workspace, or the volume it lies in. */
    private static String rootOf(SandboxVolumes.Location at) {
        return at.inWorkspace() ? WS : at.volume();
    }

    private Located locate(String container, SandboxVolumes.Location at) throws DriverException {
        String relative = at.relative();
        String root = rootOf(at);
        List<String> parts = WorkspacePaths.components(relative);
        String current = root;
        Optional<EngineSocket.PathStat> stat = stat(container, current);
        for (int i = 0; i < parts.size(); i++) {
            String next = current + "/" + parts.get(i);
            stat = stat(container, next);
            int hops = 0;
            while (stat.isPresent() && stat.get().isSymlink()) {
                if (++hops > MAX_LINK_HOPS) {
                    throw refused(at.name(relative), "goes through more than " + MAX_LINK_HOPS + " symbolic links");
                }
                String target = stat.get().linkTarget();
                String resolved = normalize(target.startsWith("/") ? target : next.substring(0, next.lastIndexOf('/')) + "/" + target);
                if (!resolved.equals(root) && !resolved.startsWith(root + "/")) {
                    throw refused(at.name(relative), "goes through the symbolic link '" + at.name(next.substring(root.length() + 1))
                            + "' which points outside " + (at.inWorkspace() ? "the workspace" : "the volume " + root));
                }
                next = resolved;
                stat = stat(container, next);
            }
            if (stat.isEmpty()) {
                return new Located(current, new ArrayList<>(parts.subList(i, parts.size())), Optional.empty());
            }
            current = next;
        }
        return new Located(current, List.of(), stat);
    }

    /** The container path of an existing entry (a directory when {@code directory}). */
    String resolve(String container, String relative, boolean directory) throws DriverException {
        Located l = locate(container, new SandboxVolumes.Location("", relative));
        if (!l.missing().isEmpty()) {
            throw new DriverException(directory ? Kind.INVALID_ARGUMENT : Kind.NOT_FOUND, "path '" + relative + "' does not exist in the workspace");
        }
        if (directory && !l.stat().map(EngineSocket.PathStat::isDirectory).orElse(false)) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "'" + relative + "' is not a directory in the workspace");
        }
        return l.path();
    }

    private Optional<EngineSocket.PathStat> stat(String container, String path) throws DriverException {
        try {
            return engine.stat(container, path);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, e.getMessage(), e);
        }
    }

    /** Collapses "." and ".." in an absolute path (symlink targets may contain them). */
    static String normalize(String absolute) {
        Deque<String> parts = new ArrayDeque<>();
        for (String p : absolute.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(p);
            }
        }
        return "/" + String.join("/", parts);
    }

    private static DriverException refused(String path, String why) {
        return new DriverException(Kind.FAILED_PRECONDITION, "path '" + path + "' refused: " + why);
    }

    /**
     * Spools the upload to a private file (a tar header needs the size up front), then sends one
     * tar with any missing parent directories and the file. Nothing reaches the container before
     * close(), so an aborted upload leaves the workspace as it was.
     */
    FileUpload openWrite(String container, List<String> volumes, String relative, int mode) throws DriverException {
        SandboxVolumes.Location at = SandboxVolumes.locate(volumes, relative);
        List<String> parts = WorkspacePaths.components(at.relative());
        if (parts.isEmpty()) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "path '" + relative + "' names the workspace itself; expected a file path");
        }
        Located parent = locate(container, new SandboxVolumes.Location(at.volume(), String.join("/", parts.subList(0, parts.size() - 1))));
        Optional<EngineSocket.PathStat> existing = parent.missing().isEmpty()
                ? stat(container, parent.path() + "/" + parts.getLast()) : Optional.empty();
        if (existing.isPresent() && existing.get().isSymlink()) {
            // A final symlink is refused rather than written through or replaced.
            throw refused(relative, "is a symbolic link; expected a regular file path");
        }
        if (existing.isPresent() && existing.get().isDirectory()) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + relative + "' is a directory; expected a file path");
        }
        Path spool;
        OutputStream out;
        try {
            spool = Files.createTempFile(spoolDir, "upload-", ".part");
            out = Files.newOutputStream(spool);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot spool upload: " + e.getMessage(), e);
        }
        return FileUpload.of(out, () -> send(container, parent.existing(), parent.missing(), parts.getLast(), spool, mode == 0 ? 0644 : mode),
                () -> Files.deleteIfExists(spool));
    }

    private void send(String container, String into, List<String> newDirs, String fileName, Path content, int mode) throws IOException {
        putTar(container, into, out -> {
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
                tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
                tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
                String prefix = SafeTar.directories(tar, newDirs, uid, gid);
                TarArchiveEntry f = new TarArchiveEntry(prefix + fileName);
                f.setMode(0100000 | (mode & 07777));
                f.setIds(uid, gid);
                f.setSize(Files.size(content));
                f.setModTime(Instant.now().toEpochMilli());
                tar.putArchiveEntry(f);
                Files.copy(content, tar);
                tar.closeArchiveEntry();
                tar.finish();
            }
            return null;
        });
    }

    @FunctionalInterface
    private interface TarWriter<T> {
        T write(OutputStream out) throws IOException, DriverException;
    }

    /**
     * Streams what {@code writer} produces into the engine's archive upload at {@code into}:
     * the writer runs on a virtual thread feeding a bounded pipe the engine request reads.
     */
    private <T> T putTar(String container, String into, TarWriter<T> writer) throws IOException {
        PipedInputStream tarIn = new PipedInputStream(64 * 1024);
        PipedOutputStream pipe = new PipedOutputStream(tarIn);
        CompletableFuture<T> written = new CompletableFuture<>();
        Thread thread = Thread.ofVirtual().name("docker-tar-writer").start(() -> {
            try (pipe) {
                written.complete(writer.write(pipe));
            } catch (IOException | DriverException | RuntimeException e) {
                written.completeExceptionally(e);
            }
        });
        IOException engineFailure = null;
        try {
            docker.copyArchiveToContainerCmd(container).withRemotePath(into).withTarInputStream(tarIn).withNoOverwriteDirNonDir(true).exec();
        } catch (DockerException e) {
            engineFailure = new IOException("the engine refused the upload: " + e.getMessage(), e);
        } finally {
            tarIn.close(); // a writer still blocked on the pipe fails now
            try {
                if (!thread.join(Duration.ofSeconds(30))) {
                    thread.interrupt();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            // The writer's own failure (e.g. a refused entry) says more than the engine's reaction to the cut-off stream.
            T result = written.getNow(null);
            if (engineFailure != null) {
                throw engineFailure;
            }
            return result;
        } catch (CompletionException e) {
            if (e.getCause() instanceof DriverException d) {
                throw new WriterRefused(d);
            }
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
    }

    /** Carries a writer's DriverException through putTar's IOException signature. */
    private static final class WriterRefused extends IOException {
        private static final long serialVersionUID = 1L;

        WriterRefused(DriverException cause) {
            super(cause.getMessage(), cause);
        }
    }

    /** Extracts an uploaded tar (after {@link SafeTar}) into a workspace directory, creating it and its parents when missing. */
    SafeTar.Summary extractArchive(String container, List<String> volumes, String relative, InputStream in) throws DriverException {
        Located l = locate(container, SandboxVolumes.locate(volumes, relative));
        if (l.missing().isEmpty() && !l.stat().map(EngineSocket.PathStat::isDirectory).orElse(false)) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + relative + "' is not a directory in the workspace");
        }
        try {
            return putTar(container, l.existing(), out -> new SafeTar(uid, gid, SafeTar.MAX_ENTRIES).copy(in, out, l.missing()));
        } catch (WriterRefused e) {
            throw (DriverException) e.getCause();
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot extract into '" + relative + "': " + e.getMessage(), e);
        }
    }

    /** The engine's tar of a workspace path (entries named from its base name). */
    InputStream openArchiveRead(String container, List<String> volumes, String relative) throws DriverException {
        Located l = locate(container, SandboxVolumes.locate(volumes, relative));
        if (!l.missing().isEmpty() || l.stat().isEmpty()) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + relative + "' does not exist in the workspace");
        }
        try {
            return docker.copyArchiveFromContainerCmd(container, l.path()).exec();
        } catch (DockerException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot archive '" + relative + "': " + e.getMessage(), e);
        }
    }

    /** One path's type, size and mtime; a final symlink is reported, not followed. */
    FileEntry statEntry(String container, List<String> volumes, String relative) throws DriverException {
        SandboxVolumes.Location at = SandboxVolumes.locate(volumes, relative);
        List<String> parts = WorkspacePaths.components(at.relative());
        if (parts.isEmpty()) {
            EngineSocket.PathStat ws = stat(container, rootOf(at)).orElseThrow(() -> new DriverException(Kind.NOT_FOUND, "no " + rootOf(at)));
            return new FileEntry(at.name(""), FileEntry.Type.DIRECTORY, ws.size(), ws.modifiedAt());
        }
        Located parent = locate(container, new SandboxVolumes.Location(at.volume(), String.join("/", parts.subList(0, parts.size() - 1))));
        Optional<EngineSocket.PathStat> s = parent.missing().isEmpty() ? stat(container, parent.path() + "/" + parts.getLast()) : Optional.empty();
        if (s.isEmpty()) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + relative + "' does not exist in the workspace");
        }
        EngineSocket.PathStat st = s.get();
        FileEntry.Type type = st.isSymlink() ? FileEntry.Type.SYMLINK : st.isDirectory() ? FileEntry.Type.DIRECTORY
                : (st.mode() & GO_MODE_TYPE) == 0 ? FileEntry.Type.REGULAR : FileEntry.Type.OTHER;
        return new FileEntry(at.name(String.join("/", parts)), type, st.size(), st.modifiedAt());
    }

    InputStream openRead(String container, List<String> volumes, String relative) throws DriverException {
        Located l = locate(container, SandboxVolumes.locate(volumes, relative));
        if (!l.missing().isEmpty() || l.stat().isEmpty()) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + relative + "' is not a regular file in the workspace");
        }
        if (l.stat().get().isDirectory()) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + relative + "' is not a regular file in the workspace");
        }
        InputStream raw;
        try {
            raw = docker.copyArchiveFromContainerCmd(container, l.path()).exec();
        } catch (DockerException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot read '" + relative + "': " + e.getMessage(), e);
        }
        try {
            TarArchiveInputStream tar = new TarArchiveInputStream(raw);
            TarArchiveEntry entry = tar.getNextEntry();
            if (entry == null || !entry.isFile()) {
                tar.close();
                throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + relative + "' is not a regular file in the workspace");
            }
            return new FilterInputStream(tar) {};
        } catch (IOException e) {
            closeQuietly(raw);
            throw new DriverException(Kind.UNAVAILABLE, "cannot read '" + relative + "': " + e.getMessage(), e);
        }
    }

    List<FileEntry> list(String container, List<String> volumes, String relative, boolean recursive) throws DriverException {
        SandboxVolumes.Location at = SandboxVolumes.locate(volumes, relative);
        Located l = locate(container, at);
        if (!l.missing().isEmpty()) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + relative + "' does not exist" + (at.inWorkspace() ? " in the workspace" : ""));
        }
        if (!l.stat().map(EngineSocket.PathStat::isDirectory).orElse(false)) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "'" + relative + "' is not a directory" + (at.inWorkspace() ? " in the workspace" : ""));
        }
        String dir = l.path();
        String root = rootOf(at);
        String base = dir.substring(dir.lastIndexOf('/') + 1) + "/";
        String rel = dir.equals(root) ? "" : dir.substring(root.length() + 1) + "/";
        List<FileEntry> entries = new ArrayList<>();
        try (InputStream raw = docker.copyArchiveFromContainerCmd(container, dir).exec();
                TarArchiveInputStream tar = new TarArchiveInputStream(raw)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null && entries.size() < MAX_LISTING) {
                String name = e.getName();
                if (!name.startsWith(base) || name.equals(base)) {
                    continue;
                }
                String inside = name.substring(base.length());
                if (inside.endsWith("/")) {
                    inside = inside.substring(0, inside.length() - 1);
                }
                if (!recursive && inside.contains("/")) {
                    continue;
                }
                FileEntry.Type type = e.isSymbolicLink() ? FileEntry.Type.SYMLINK : e.isDirectory() ? FileEntry.Type.DIRECTORY
                        : e.isFile() ? FileEntry.Type.REGULAR : FileEntry.Type.OTHER;
                entries.add(new FileEntry(at.name(rel + inside), type, e.getSize(), e.getLastModifiedDate().toInstant()));
            }
        } catch (IOException | DockerException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot list '" + relative + "': " + e.getMessage(), e);
        }
        entries.sort(Comparator.comparing(FileEntry::path));
        return entries;
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // nothing left to save
        }
    }
}
