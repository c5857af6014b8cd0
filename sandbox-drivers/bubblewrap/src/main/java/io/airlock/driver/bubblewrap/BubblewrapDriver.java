package io.airlock.driver.bubblewrap;

import io.airlock.driver.Capability;
import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.SafeTar;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxProcess;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import io.airlock.driver.TarProcessStream;
import io.airlock.driver.SandboxVolumes;
import io.airlock.driver.WorkspacePaths;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sandboxes as bubblewrap namespaces over a host directory; see the package documentation. */
public final class BubblewrapDriver implements SandboxDriver {
    private static final Logger log = LoggerFactory.getLogger(BubblewrapDriver.class);
    /** A listing never returns more entries than this; deeper trees are listed a directory at a time. */
    static final int MAX_LISTING = 10_000;

    private final String agentId;
    private final Path root;
    private final Path bwrap;
    private final ResourceControl resources;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, Set<Process>> running = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private final Optional<EgressBridge> egress;

    BubblewrapDriver(DriverContext context, Path bwrap, ResourceControl resources) throws DriverException {
        this.agentId = context.agentId();
        Optional<Path> socat = EgressBridge.findSocat();
        if (context.egressPort().isPresent() && socat.isEmpty()) {
            log.warn("policy.egress is set but socat is missing (Debian: apt-get install socat): bubblewrap sandboxes get no network");
        }
        this.egress = EgressBridge.create(context.egressPort(), socat);
        this.root = context.stateDir().resolve("sandboxes");
        this.bwrap = bwrap;
        this.resources = resources;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot create sandbox directory " + root + ": " + e.getMessage(), e);
        }
        reconcile();
    }

    @Override
    public String name() {
        return BubblewrapDriverProvider.NAME;
    }

    @Override
    public Set<Capability> capabilities() {
        EnumSet<Capability> caps = EnumSet.of(Capability.EXEC, Capability.EXEC_STDIN, Capability.EXEC_SIGNAL, Capability.FILES, Capability.FILES_ARCHIVE,
                Capability.NETWORK_NONE, Capability.LIMITS_MEMORY, Capability.LIMITS_CPU, Capability.SURVIVES_DAEMON_RESTART,
                Capability.VOLUMES);
        if (resources.limitsProcesses()) {
            caps.add(Capability.LIMITS_PROCESSES);
        }
        if (egress.isPresent()) {
            caps.add(Capability.NETWORK_EGRESS_PROXY);
        }
        return caps;
    }

    private Object lockFor(String sandboxId) {
        return locks.computeIfAbsent(sandboxId, k -> new Object());
    }

    @Override
    public Sandbox provision(SandboxSpec spec) throws DriverException {
        if (!spec.template().isEmpty()) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "the bubblewrap driver has no templates (got '" + spec.template()
                    + "'); provision without one");
        }
        if (!spec.image().isEmpty()) {
            throw new DriverException(Kind.UNIMPLEMENTED, "the bubblewrap driver runs the host's /usr and takes no image (got '"
                    + spec.image() + "'); use the docker driver for images");
        }
        if (spec.limits().maxProcesses() > 0 && !resources.limitsProcesses()) {
            throw new DriverException(Kind.UNIMPLEMENTED, "a process limit needs a writable cgroup (pids controller), "
                    + "which this host does not give the daemon; provision without max_processes or run the daemon where cgroups are delegated");
        }
        synchronized (lockFor(spec.id())) {
            Sandbox existing = sandboxes.get(spec.id());
            if (existing != null) {
                return existing;
            }
            SandboxDirectory dir = new SandboxDirectory(root.resolve(spec.id()));
            Sandbox sandbox = new Sandbox(spec.id(), name(), SandboxState.READY, Instant.now(), spec.limits(), spec.env(), spec.labels(),
                    spec.volumes());
            try {
                dir.create(spec.volumes().size());
                resources.prepare(spec.id(), spec.limits());
                if (egress.isPresent()) {
                    egress.get().attach(spec.id(), dir.dir());
                }
                dir.write(sandbox, agentId);
            } catch (IOException | DriverException e) {
                egress.ifPresent(b -> b.detach(spec.id()));
                deleteTree(dir.dir());
                resources.release(spec.id());
                throw new DriverException(e instanceof DriverException d ? d.kind() : Kind.INTERNAL,
                        "provisioning sandbox '" + spec.id() + "' failed: " + e.getMessage(), e);
            }
            sandboxes.put(spec.id(), sandbox);
            return sandbox;
        }
    }

    @Override
    public Optional<Sandbox> get(String sandboxId) {
        return Optional.ofNullable(sandboxes.get(sandboxId));
    }

    @Override
    public List<Sandbox> list() {
        return sandboxes.values().stream().sorted(Comparator.comparing(Sandbox::createdAt)).toList();
    }

    private Sandbox require(String sandboxId) throws DriverException {
        Sandbox s = sandboxes.get(sandboxId);
        if (s == null) {
            throw DriverException.notFound(sandboxId);
        }
        return s;
    }

    private SandboxDirectory dirOf(String sandboxId) {
        return new SandboxDirectory(root.resolve(sandboxId));
    }

    @Override
    public SandboxProcess start(String sandboxId, ExecSpec spec) throws DriverException {
        Sandbox sandbox = require(sandboxId);
        SandboxDirectory dir = dirOf(sandboxId);
        Path wd = WorkspacePaths.resolve(dir.workspace(), spec.workingDir());
        if (!Files.isDirectory(wd, LinkOption.NOFOLLOW_LINKS)) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "working directory '" + spec.workingDir() + "' is not a directory in the workspace");
        }
        String relativeWd = dir.workspace().toAbsolutePath().relativize(wd.toAbsolutePath()).toString();
        List<String> command = new ArrayList<>(resources.wrapper(sandboxId, sandbox.limits()));
        command.addAll(egress.isPresent()
                ? BwrapCommand.build(bwrap, dir, sandbox.volumes(), relativeWd, egress.get().bwrapArgs(dir.dir()), egress.get().wrap(spec.argv()))
                : BwrapCommand.build(bwrap, dir, sandbox.volumes(), relativeWd, List.of(), spec.argv()));
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("HOME", BwrapCommand.WORKSPACE);
        env.put("TMPDIR", "/tmp");
        env.put("LANG", "C.UTF-8");
        egress.ifPresent(b -> env.putAll(b.environment()));
        putAll(env, sandbox.env());
        putAll(env, spec.env());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "could not start bwrap (" + bwrap + "): " + e.getMessage(), e);
        }
        Set<Process> live = running.computeIfAbsent(sandboxId, k -> ConcurrentHashMap.newKeySet());
        live.add(process);
        process.onExit().thenRun(() -> live.remove(process));
        return new BwrapProcess(process);
    }

    private static void putAll(Map<String, String> target, Map<String, String> vars) throws DriverException {
        for (var e : vars.entrySet()) {
            if (e.getKey().isEmpty() || e.getKey().contains("=") || e.getKey().indexOf('\0') >= 0 || e.getValue().indexOf('\0') >= 0) {
                throw new DriverException(Kind.INVALID_ARGUMENT, "environment variable '" + e.getKey()
                        + "' is invalid (expected: a non-empty name without '=' or NUL, a value without NUL)");
            }
            target.put(e.getKey(), e.getValue());
        }
    }

    /** A {@code bwrap} process; killing it takes the whole PID namespace with it. */
    private record BwrapProcess(Process process) implements SandboxProcess {
        @Override
        public OutputStream stdin() {
            return process.getOutputStream();
        }

        @Override
        public InputStream stdout() {
            return process.getInputStream();
        }

        @Override
        public InputStream stderr() {
            return process.getErrorStream();
        }

        @Override
        public OptionalInt waitFor(Duration max) throws InterruptedException {
            return process.waitFor(max.toMillis(), TimeUnit.MILLISECONDS) ? OptionalInt.of(process.exitValue()) : OptionalInt.empty();
        }

        /**
         * Signals the command: bwrap (on the host) runs a second bwrap as the namespace's init,
         * whose child is the command. Java can only send TERM and KILL, so this runs kill(1); the
         * command runs under the daemon's uid (mapped to 1000 inside), so the daemon may signal it.
         */
        @Override
        public void signal(ProcessSignal signal) throws DriverException {
            ProcessHandle command = process.children().flatMap(ProcessHandle::children).findFirst()
                    .orElseThrow(() -> new DriverException(Kind.FAILED_PRECONDITION, "the process is not running (exited, or not yet started)"));
            try {
                Process kill = new ProcessBuilder("kill", "-s", signal.name(), Long.toString(command.pid()))
                        .redirectErrorStream(true).start();
                boolean done = kill.waitFor(10, TimeUnit.SECONDS);
                String said = new String(kill.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
                if (!done || kill.exitValue() != 0) {
                    kill.destroyForcibly();
                    throw new DriverException(Kind.FAILED_PRECONDITION, "cannot send SIG" + signal.name() + ": " + said);
                }
            } catch (IOException e) {
                throw new DriverException(Kind.UNAVAILABLE, "cannot run kill(1): " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DriverException(Kind.UNAVAILABLE, "interrupted while signalling");
            }
        }

        @Override
        public void kill() {
            // The parent first (its PID namespace goes with it); then whatever was already forked.
            List<ProcessHandle> descendants = process.descendants().toList();
            process.destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** Where a caller's path leads on the host: the workspace, or one of the sandbox's volumes (by absolute path). */
    private record Root(Path dir, String relative, SandboxVolumes.Location location) {
        /** The sandbox's own name for the root. */
        String inside() {
            return location.inWorkspace() ? BwrapCommand.WORKSPACE : location.volume();
        }
    }

    private Root rootOf(String sandboxId, String path) throws DriverException {
        Sandbox sandbox = require(sandboxId);
        SandboxDirectory box = dirOf(sandboxId);
        SandboxVolumes.Location l = SandboxVolumes.locate(sandbox.volumes(), path);
        Path dir = l.inWorkspace() ? box.workspace() : box.volume(sandbox.volumes().indexOf(l.volume()));
        return new Root(dir.toAbsolutePath(), l.relative(), l);
    }

    @Override
    public FileUpload openWrite(String sandboxId, String path, int mode) throws DriverException {
        Root root = rootOf(sandboxId, path);
        Path workspace = root.dir();
        Path target = WorkspacePaths.resolve(workspace, root.relative());
        if (target.equals(workspace) || root.relative().isBlank()) {
            throw new DriverException(Kind.INVALID_ARGUMENT, "path '" + path + "' names the workspace itself; expected a file path");
        }
        if (Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + path + "' is a directory; expected a file path");
        }
        try {
            Files.createDirectories(target.getParent());
            // createDirectories may have walked into a link planted meanwhile: check again.
            WorkspacePaths.resolve(workspace, root.relative());
            Path temp = target.resolveSibling(".airlock-upload-" + UUID.randomUUID());
            OutputStream out = Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            // Written to a temporary sibling and renamed over the target: readers never see half a file.
            return FileUpload.of(out, () -> {
                Files.setPosixFilePermissions(temp, permissions(mode == 0 ? 0644 : mode));
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }, () -> Files.deleteIfExists(temp));
        } catch (IOException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "cannot write '" + path + "': " + e.getMessage(), e);
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                perms.add(order[bit]);
            }
        }
        return perms;
    }

    @Override
    public InputStream openRead(String sandboxId, String path) throws DriverException {
        Root root = rootOf(sandboxId, path);
        Path target = WorkspacePaths.resolve(root.dir(), root.relative());
        if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new DriverException(Files.exists(target, LinkOption.NOFOLLOW_LINKS) ? Kind.FAILED_PRECONDITION : Kind.NOT_FOUND,
                    "path '" + path + "' is not a regular file in the workspace");
        }
        try {
            return Files.newInputStream(target, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "cannot read '" + path + "': " + e.getMessage(), e);
        }
    }

    @Override
    public List<FileEntry> listFiles(String sandboxId, String path, boolean recursive) throws DriverException {
        Root root = rootOf(sandboxId, path);
        Path workspace = root.dir();
        Path dir = WorkspacePaths.resolve(workspace, root.relative());
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new DriverException(Files.exists(dir) ? Kind.FAILED_PRECONDITION : Kind.NOT_FOUND,
                    "path '" + path + "' is not a directory in the workspace");
        }
        List<FileEntry> entries = new ArrayList<>();
        Path realRoot;
        try {
            realRoot = workspace.toRealPath();
            if (recursive) {
                Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                        if (!d.equals(dir)) {
                            entries.add(entry(root.location(), realRoot, d, attrs));
                        }
                        return entries.size() >= MAX_LISTING ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                        entries.add(entry(root.location(), realRoot, f, attrs));
                        return entries.size() >= MAX_LISTING ? FileVisitResult.TERMINATE : FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path f, IOException e) {
                        return FileVisitResult.CONTINUE;
                    }
                });
            } else {
                try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
                    for (Path p : stream) {
                        entries.add(entry(root.location(), realRoot, p, Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)));
                        if (entries.size() >= MAX_LISTING) {
                            break;
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "cannot list '" + path + "': " + e.getMessage(), e);
        }
        entries.sort(Comparator.comparing(FileEntry::path));
        return entries;
    }

    @Override
    public FileEntry stat(String sandboxId, String path) throws DriverException {
        Root root = rootOf(sandboxId, path);
        Path workspace = root.dir();
        // The parent is confined; the last component is looked at, not followed (it may be a link out).
        List<String> parts = WorkspacePaths.components(root.relative());
        Path target = parts.isEmpty() ? workspace
                : WorkspacePaths.resolve(workspace, String.join("/", parts.subList(0, parts.size() - 1))).resolve(parts.getLast());
        try {
            return entry(root.location(), workspace.toRealPath(), target, Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
        } catch (NoSuchFileException e) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + path + "' does not exist in the workspace");
        } catch (IOException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "cannot stat '" + path + "': " + e.getMessage(), e);
        }
    }

    /**
     * Extraction runs tar inside the sandbox: it then writes as the sandbox user and sees only
     * the sandbox's mounts, so no symlink in the workspace can lead it to the host.
     */
    @Override
    public SafeTar.Summary extractArchive(String sandboxId, String path, InputStream tar) throws DriverException {
        String inside = insidePath(sandboxId, path, true);
        SandboxProcess process = start(sandboxId, ExecSpec.of("sh", "-c",
                "mkdir -p -- \"$0\" && exec tar -x -f - --no-same-owner -C \"$0\"", inside).withStdin(true));
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        Thread stderrReader = Thread.ofVirtual().name("tar-x-stderr").start(() -> TarProcessStream.keepStderr(process.stderr(), stderr));
        Thread.ofVirtual().name("tar-x-stdout").start(() -> TarProcessStream.keepStderr(process.stdout(), new ByteArrayOutputStream()));
        try {
            SafeTar.Summary summary;
            try (OutputStream stdin = process.stdin()) {
                summary = new SafeTar(1000, 1000, SafeTar.MAX_ENTRIES).copy(tar, stdin, List.of());
            }
            TarProcessStream.requireSuccess(process, stderrReader, stderr, "tar -x in the sandbox");
            return summary;
        } catch (IOException e) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "cannot extract into '" + path + "': " + e.getMessage(), e);
        } finally {
            process.kill();
        }
    }

    @Override
    public InputStream openArchiveRead(String sandboxId, String path) throws DriverException {
        String inside = insidePath(sandboxId, path, false);
        int slash = inside.lastIndexOf('/');
        String parent = slash == 0 ? "/" : inside.substring(0, slash);
        return new TarProcessStream(start(sandboxId, ExecSpec.of("tar", "-c", "-f", "-", "-C", parent, "--", inside.substring(slash + 1))
                .withTimeout(Duration.ofHours(1))));
    }

    /** The sandbox's own name for a workspace path (checked on the host first); {@code directory}: must be one, or be missing. */
    private String insidePath(String sandboxId, String path, boolean directory) throws DriverException {
        Root root = rootOf(sandboxId, path);
        Path workspace = root.dir();
        Path target = WorkspacePaths.resolve(workspace, root.relative());
        boolean exists = Files.exists(target, LinkOption.NOFOLLOW_LINKS);
        if (directory && exists && !Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new DriverException(Kind.FAILED_PRECONDITION, "path '" + path + "' is not a directory in the workspace");
        }
        if (!directory && !exists) {
            throw new DriverException(Kind.NOT_FOUND, "path '" + path + "' does not exist in the workspace");
        }
        String relative = workspace.relativize(target).toString();
        return relative.isEmpty() ? root.inside() : root.inside() + "/" + relative;
    }

    private static FileEntry entry(SandboxVolumes.Location where, Path root, Path p, BasicFileAttributes a) {
        FileEntry.Type type = a.isSymbolicLink() ? FileEntry.Type.SYMLINK : a.isDirectory() ? FileEntry.Type.DIRECTORY
                : a.isRegularFile() ? FileEntry.Type.REGULAR : FileEntry.Type.OTHER;
        return new FileEntry(where.name(root.relativize(p).toString()), type, a.size(), a.lastModifiedTime().toInstant());
    }

    @Override
    public void destroy(String sandboxId) throws DriverException {
        SandboxSpec.requireValidId(sandboxId);
        synchronized (lockFor(sandboxId)) {
            Set<Process> live = running.remove(sandboxId);
            if (live != null) {
                for (Process p : live) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            }
            resources.release(sandboxId);
            egress.ifPresent(b -> b.detach(sandboxId));
            Path dir = root.resolve(sandboxId);
            // Metadata goes first: a destroy cut short leaves a directory reconcile will clear.
            try {
                Files.deleteIfExists(dir.resolve(SandboxDirectory.METADATA));
            } catch (IOException e) {
                throw new DriverException(Kind.INTERNAL, "cannot remove sandbox '" + sandboxId + "': " + e.getMessage(), e);
            }
            sandboxes.remove(sandboxId);
            deleteTree(dir);
        }
    }

    @Override
    public List<Sandbox> reconcile() throws DriverException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
            for (Path d : dirs) {
                String id = d.getFileName().toString();
                if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                SandboxDirectory box = new SandboxDirectory(d);
                Optional<Sandbox> sandbox;
                try {
                    sandbox = box.read(agentId);
                } catch (IOException | RuntimeException e) {
                    log.warn("sandbox directory {} has unreadable metadata ({}); leaving it alone", d, e.toString());
                    continue;
                }
                if (sandbox.isPresent()) {
                    if (egress.isPresent() && !sandboxes.containsKey(id)) {
                        egress.get().attach(id, d);
                    }
                    sandboxes.putIfAbsent(id, sandbox.get());
                    resources.prepare(id, sandbox.get().limits());
                } else if (!Files.exists(box.metadata())) {
                    log.info("removing sandbox directory {} left by an unfinished provision or destroy", d);
                    deleteTree(d);
                } else {
                    log.warn("sandbox directory {} belongs to another agent; leaving it alone", d);
                }
            }
        } catch (IOException e) {
            throw new DriverException(Kind.UNAVAILABLE, "cannot read sandbox directory " + root + ": " + e.getMessage(), e);
        }
        return list();
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            log.warn("could not remove {} completely: {}", dir, e.toString());
        }
    }

    @Override
    public void close() {
        // Sandboxes outlive the driver (and the daemon); running execs die with the daemon (--die-with-parent).
        resources.close();
        egress.ifPresent(EgressBridge::close);
    }
}
