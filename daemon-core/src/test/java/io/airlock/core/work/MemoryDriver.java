package io.airlock.core.work;

import io.airlock.driver.Capability;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sandboxes as maps of files, for tests of the core without a sandbox backend: provision,
 * files, stat, list and destroy; no processes (start is UNIMPLEMENTED).
 */
final class MemoryDriver implements SandboxDriver {
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Map<String, byte[]>> files = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of();
    }

    @Override
    public Sandbox provision(SandboxSpec spec) {
        return sandboxes.computeIfAbsent(spec.id(), id -> {
            files.put(id, new ConcurrentHashMap<>());
            return new Sandbox(id, name(), SandboxState.READY, Instant.now(), spec.limits(), spec.env(), spec.labels());
        });
    }

    @Override
    public Optional<Sandbox> get(String sandboxId) {
        return Optional.ofNullable(sandboxes.get(sandboxId));
    }

    @Override
    public List<Sandbox> list() {
        return new ArrayList<>(sandboxes.values());
    }

    @Override
    public SandboxProcess start(String sandboxId, ExecSpec spec) throws DriverException {
        workspace(sandboxId);
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the memory driver runs no processes");
    }

    @Override
    public FileUpload openWrite(String sandboxId, String path, int mode) throws DriverException {
        Map<String, byte[]> ws = workspace(sandboxId);
        String p = checked(path);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        return FileUpload.of(bytes, () -> ws.put(p, bytes.toByteArray()), () -> { });
    }

    @Override
    public InputStream openRead(String sandboxId, String path) throws DriverException {
        byte[] content = workspace(sandboxId).get(checked(path));
        if (content == null) {
            throw new DriverException(DriverException.Kind.NOT_FOUND, "no file '" + path + "'");
        }
        return new ByteArrayInputStream(content);
    }

    @Override
    public List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException {
        return workspace(sandboxId).entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> new FileEntry(e.getKey(), FileEntry.Type.REGULAR, e.getValue().length, Instant.EPOCH)).toList();
    }

    @Override
    public FileEntry stat(String sandboxId, String path) throws DriverException {
        byte[] content = workspace(sandboxId).get(checked(path));
        if (content == null) {
            throw new DriverException(DriverException.Kind.NOT_FOUND, "no file '" + path + "'");
        }
        return new FileEntry(path, FileEntry.Type.REGULAR, content.length, Instant.EPOCH);
    }

    @Override
    public void destroy(String sandboxId) {
        sandboxes.remove(sandboxId);
        files.remove(sandboxId);
    }

    @Override
    public List<Sandbox> reconcile() {
        return list();
    }

    @Override
    public void close() {}

    Map<String, byte[]> files(String sandboxId) {
        return files.get(sandboxId);
    }

    private Map<String, byte[]> workspace(String sandboxId) throws DriverException {
        Map<String, byte[]> ws = files.get(sandboxId);
        if (ws == null) {
            throw DriverException.notFound(sandboxId);
        }
        return ws;
    }

    private static String checked(String path) throws DriverException {
        if (path.startsWith("/") || List.of(path.split("/")).contains("..")) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "path '" + path + "' refused: expected a path inside the workspace");
        }
        return path;
    }
}
