package io.airlock.core.sandbox;

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
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Sandboxes as trees of files in memory, for tests of the core without a sandbox backend. It
 * claims {@code files} only: no processes (start is UNIMPLEMENTED), no archives, nothing
 * survives the instance. {@code MemoryDriverContractTest} holds it to the driver contract.
 */
public final class MemoryDriver implements SandboxDriver {
    private record Node(byte[] content, Instant modifiedAt) {
        boolean directory() {
            return content == null;
        }
    }

    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    /** Per sandbox: path (relative, "" for the workspace) to file or directory, sorted. */
    private final Map<String, Map<String, Node>> trees = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.FILES);
    }

    @Override
    public Sandbox provision(SandboxSpec spec) {
        return sandboxes.computeIfAbsent(spec.id(), id -> {
            Map<String, Node> tree = new ConcurrentSkipListMap<>();
            tree.put("", new Node(null, Instant.now()));
            trees.put(id, tree);
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
        tree(sandboxId);
        throw new DriverException(DriverException.Kind.UNIMPLEMENTED, "the memory driver runs no processes");
    }

    @Override
    public FileUpload openWrite(String sandboxId, String path, int mode) throws DriverException {
        Map<String, Node> tree = tree(sandboxId);
        String p = checked(path);
        if (p.isEmpty() || (tree.containsKey(p) && tree.get(p).directory())) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "'" + path + "' is a directory (expected a file path)");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        return FileUpload.of(bytes, () -> {
            for (int slash = p.indexOf('/'); slash > 0; slash = p.indexOf('/', slash + 1)) {
                tree.putIfAbsent(p.substring(0, slash), new Node(null, Instant.now()));
            }
            tree.put(p, new Node(bytes.toByteArray(), Instant.now()));
        }, () -> { });
    }

    @Override
    public InputStream openRead(String sandboxId, String path) throws DriverException {
        Node n = node(sandboxId, path);
        if (n.directory()) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "'" + path + "' is a directory (expected a file)");
        }
        return new ByteArrayInputStream(n.content());
    }

    @Override
    public List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException {
        String dir = checked(path);
        Map<String, Node> tree = tree(sandboxId);
        if (!node(sandboxId, path).directory()) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "'" + path + "' is not a directory");
        }
        String prefix = dir.isEmpty() ? "" : dir + "/";
        List<FileEntry> out = new ArrayList<>();
        tree.forEach((p, n) -> {
            if (!p.isEmpty() && p.startsWith(prefix) && (recursive || p.indexOf('/', prefix.length()) < 0)) {
                out.add(entry(p, n));
            }
        });
        return out;
    }

    @Override
    public FileEntry stat(String sandboxId, String path) throws DriverException {
        return entry(checked(path), node(sandboxId, path));
    }

    @Override
    public void destroy(String sandboxId) {
        sandboxes.remove(sandboxId);
        trees.remove(sandboxId);
    }

    @Override
    public List<Sandbox> reconcile() {
        return list();
    }

    @Override
    public void close() {}

    /** The content of a file, or null (tests). */
    public byte[] content(String sandboxId, String path) {
        Map<String, Node> tree = trees.get(sandboxId);
        Node n = tree == null ? null : tree.get(path);
        return n == null ? null : n.content();
    }

    private static FileEntry entry(String path, Node n) {
        return new FileEntry(path, n.directory() ? FileEntry.Type.DIRECTORY : FileEntry.Type.REGULAR,
                n.directory() ? 0 : n.content().length, n.modifiedAt());
    }

    private Node node(String sandboxId, String path) throws DriverException {
        Node n = tree(sandboxId).get(checked(path));
        if (n == null) {
            throw new DriverException(DriverException.Kind.NOT_FOUND, "no such path in the workspace: '" + path + "'");
        }
        return n;
    }

    private Map<String, Node> tree(String sandboxId) throws DriverException {
        Map<String, Node> tree = trees.get(sandboxId);
        if (tree == null) {
            throw DriverException.notFound(sandboxId);
        }
        return tree;
    }

    /** The path relative to the workspace, without trailing slashes; refused when it could leave it. */
    private static String checked(String path) throws DriverException {
        if (path.startsWith("/")) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "path '" + path
                    + "' refused: it is absolute; expected a path inside the workspace");
        }
        if (List.of(path.split("/")).contains("..")) {
            throw new DriverException(DriverException.Kind.FAILED_PRECONDITION, "path '" + path
                    + "' refused: contains '..'; expected a path inside the workspace");
        }
        String p = path;
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.equals(".") ? "" : p;
    }
}
