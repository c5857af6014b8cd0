package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.connector.worker.tools.ToolException;
import io.airlock.connector.worker.tools.Workdir;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.FileEntry;
import io.airlock.driver.FileUpload;
import io.airlock.driver.SandboxVolumes;
import io.airlock.driver.WorkspacePaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session's memory stores, kept as files in its sandbox and synced both ways against the
 * platform: each path's SHA-256 at the last sync is the baseline; a side that changed since
 * wins; when both changed the server wins (the local edit is dropped and audited). Pushes carry
 * the baseline as a {@code content_sha256} precondition, so an update that lost a race comes back
 * 409 and the server's content is pulled instead. A store attached read-only only pulls.
 *
 * <p>A store's files are at its {@code mount_path}, where the agent's system prompt points, as
 * the SDK keeps them: under the workspace as a plain directory, elsewhere in a volume of the
 * sandbox's own ({@link SandboxVolumes}: the driver keeps it outside the workspace and mounts it
 * there for every command, and its file API reaches it by that path). A store without a mount
 * path is kept in {@code /workspace/memory/<name>} (the SDK's fallback). Where the driver cannot
 * give a volume, or the path is one no sandbox may have, the store falls back to the workspace
 * and its audit record says it is not at its mount path, and why.
 *
 * <p>Each store's directory holds a marker naming the store (the SDK's {@value #MARKER}): a
 * directory that lost it (emptied, removed, a container restarted with a fresh tmpfs) is filled
 * again from the platform, never read as the agent deleting every file.
 */
final class MemorySync {
    private static final Logger log = LoggerFactory.getLogger(MemorySync.class);
    static final int MAX_FILE = 1 << 20;
    static final String MARKER = ".anthropic-memory-store";

    private static final class Store {
        final String id;
        final String dir;
        final boolean readOnly;
        final Map<String, String> baseline = new HashMap<>();
        final Map<String, String> ids = new HashMap<>();
        /** rel -> sha of a file the server refused for good (400, 413): tried again only once it changes, as the SDK does. */
        final Map<String, String> refused = new HashMap<>();
        /** size:mtime -> sha, so that unchanged files are not read again on every sync. */
        final Map<String, String> scanned = new HashMap<>();

        Store(String id, String dir, boolean readOnly) {
            this.id = id;
            this.dir = dir;
            this.readOnly = readOnly;
        }
    }

    private final SessionScope scope;
    private final List<Store> stores = new ArrayList<>();

    MemorySync(SessionScope scope) {
        this.scope = scope;
    }

    boolean isEmpty() {
        return stores.isEmpty();
    }

    /**
     * The volumes the session's stores need: each mount path outside the workspace that a sandbox
     * may have, when the driver gives volumes at all; asked for when the sandbox is provisioned.
     */
    static List<String> volumes(JsonNode session, boolean driverHasVolumes) {
        List<String> out = new ArrayList<>();
        if (!driverHasVolumes) {
            return out;
        }
        for (JsonNode r : session.path("resources")) {
            String mountPath = r.path("mount_path").asText("");
            // A path no sandbox may have is left out: mount() falls back and says why.
            if (r.path("type").asText().equals("memory_store") && !mountPath.isEmpty() && !mountPath.equals(Workdir.ROOT)
                    && !mountPath.startsWith(Workdir.ROOT + "/") && !out.contains(mountPath) && SandboxVolumes.fits(out, mountPath)) {
                out.add(mountPath);
            }
        }
        return out;
    }

    /**
     * Pulls every attached store into the sandbox, at its mount path where the sandbox has it
     * ({@code volumes}: what {@link #volumes} asked for and the sandbox got). A store that
     * cannot be mounted ends the session (its memory would be lost).
     */
    void mount(JsonNode session, List<String> volumes) throws ApiException, InterruptedException, DriverException, ToolException {
        for (JsonNode r : session.path("resources")) {
            if (!r.path("type").asText().equals("memory_store")) {
                continue;
            }
            String id = r.path("memory_store_id").asText();
            String mountPath = r.path("mount_path").asText("");
            String fallback = "memory/" + r.path("name").asText(id).replaceAll("[^A-Za-z0-9._-]", "-");
            String dir;
            String notThere = "";
            if (mountPath.isEmpty()) {
                dir = fallback;
            } else if (mountPath.equals(Workdir.ROOT) || mountPath.startsWith(Workdir.ROOT + "/")) {
                dir = Workdir.relative(mountPath);
                if (dir.isEmpty()) {
                    throw new ToolException("memory store " + id + ": mount_path " + mountPath + " is the workspace itself (expected a directory in it)");
                }
            } else if (volumes.contains(mountPath)) {
                dir = mountPath;
            } else {
                dir = fallback;
                notThere = volumes(session, true).contains(mountPath)
                        ? "the " + scope.sandboxes().find(scope.sandboxId()).map(b -> b.driver()).orElse("sandbox's") + " driver gives no volumes"
                        : "no sandbox may have a directory at " + mountPath + " (a system path, or not a clean absolute path)";
                log.warn("memory store {} of session {}: kept at {} instead of its mount path {}: {}", id, scope.work().sessionId(),
                        Workdir.shown(dir), mountPath, notThere);
            }
            Store s = new Store(id, dir, r.path("access").asText("read_write").equals("read_only"));
            stores.add(s);
            int pulled = download(s);
            Map<String, Object> f = fields("mounted", s);
            f.put("mount_path", mountPath);
            f.put("directory", Workdir.shown(dir));
            f.put("at_mount_path", notThere.isEmpty() && !mountPath.isEmpty());
            if (!notThere.isEmpty()) {
                f.put("not_at_mount_path_because", notThere);
            }
            f.put("pulled", pulled);
            scope.audit().record("worker.memory", f);
        }
    }

    /** Where the file tools may go besides the workspace: the stores in volumes; and which stores they may not write in. */
    Workdir paths() {
        List<String> roots = new ArrayList<>();
        List<String> readOnly = new ArrayList<>();
        for (Store s : stores) {
            if (s.dir.startsWith("/")) {
                roots.add(s.dir);
            }
            if (s.readOnly) {
                readOnly.add(Workdir.shown(s.dir));
            }
        }
        return new Workdir(roots, readOnly);
    }

    /** Writes every memory of the store and the marker; returns how many were written. */
    private int download(Store s) throws ApiException, InterruptedException, DriverException {
        int pulled = 0;
        for (WorkQueueApi.Memory m : scope.api().memories(scope.token(), s.id)) {
            String rel = relative(s, m.path());
            if (rel != null) {
                write(s, rel, m.content());
                s.baseline.put(rel, m.sha256());
                s.ids.put(rel, m.id());
                pulled++;
            }
        }
        write(s, MARKER, marker(s));
        return pulled;
    }

    private static String marker(Store s) {
        return "version 1\n" + s.id;
    }

    /** One pass over every store: pushes local changes, pulls remote ones, the server winning a conflict. */
    void sync() throws InterruptedException {
        for (Store s : stores) {
            try {
                syncStore(s);
            } catch (ApiException | DriverException | IOException e) {
                log.warn("memory store {} of session {}: sync failed, next pass retries: {}", s.id, scope.work().sessionId(), e.getMessage());
                Map<String, Object> f = fields("sync_failed", s);
                f.put("reason", e.getMessage());
                scope.audit().record("worker.memory", f);
            }
        }
    }

    private void syncStore(Store s) throws ApiException, DriverException, IOException, InterruptedException {
        Map<String, String> local = scan(s);
        // The marker comes with the scan (its sha cached like any file's): no read of its own on every call.
        if (!sha(marker(s).getBytes(StandardCharsets.UTF_8)).equals(local.remove(MARKER))) {
            // Emptied, removed or replaced: what is missing came back from the platform, not from the agent deleting it.
            s.scanned.clear();
            int pulled = download(s);
            Map<String, Object> f = fields("restored", s);
            f.put("reason", "the store's directory " + Workdir.shown(s.dir) + " lost its marker " + MARKER);
            f.put("pulled", pulled);
            scope.audit().record("worker.memory", f);
            return;
        }
        Map<String, WorkQueueApi.Memory> remote = new HashMap<>();
        for (WorkQueueApi.Memory m : scope.api().memories(scope.token(), s.id)) {
            String rel = relative(s, m.path());
            if (rel != null) {
                remote.put(rel, m);
                s.ids.put(rel, m.id());
            }
        }
        Set<String> paths = new TreeSet<>(s.baseline.keySet());
        paths.addAll(remote.keySet());
        paths.addAll(local.keySet());
        List<String> pushed = new ArrayList<>();
        List<String> pulled = new ArrayList<>();
        List<String> conflicts = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (String rel : paths) {
            String b = s.baseline.get(rel);
            String l = local.get(rel);
            WorkQueueApi.Memory rm = remote.get(rel);
            String r = rm == null ? null : rm.sha256();
            if (eq(l, r)) {
                settle(s, rel, l);
            } else if (eq(l, b)) {
                pull(s, rel, rm);
                pulled.add(rel);
            } else if (eq(r, b) || r == null) {
                // Only this side changed (or the server lost it while it changed here: this copy is the only one).
                if (s.readOnly || l != null && l.equals(s.refused.get(rel))) {
                    continue; // a read-only store keeps local edits unsynced; a refused file waits until it changes
                }
                switch (push(s, rel, l, r == null ? null : b)) {
                    case PUSHED -> pushed.add(rel);
                    case CONFLICT -> conflicts.add(rel);
                    case REFUSED -> refused.add(rel);
                }
            } else {
                pull(s, rel, rm); // both changed: the server wins
                conflicts.add(rel);
            }
        }
        if (!pushed.isEmpty() || !pulled.isEmpty() || !conflicts.isEmpty() || !refused.isEmpty()) {
            Map<String, Object> f = fields("synced", s);
            f.put("pushed", pushed);
            f.put("pulled", pulled);
            f.put("conflicts_server_won", conflicts);
            f.put("refused_by_server", refused);
            scope.audit().record("worker.memory", f);
        }
    }

    private static boolean eq(String a, String b) {
        return a == null ? b == null : a.equals(b);
    }

    private void settle(Store s, String rel, String sha) {
        if (sha == null) {
            s.baseline.remove(rel);
            s.ids.remove(rel);
        } else {
            s.baseline.put(rel, sha);
        }
    }

    private void pull(Store s, String rel, WorkQueueApi.Memory m) throws DriverException, InterruptedException {
        if (m == null) {
            remove(s, rel);
            settle(s, rel, null);
        } else {
            write(s, rel, m.content());
            settle(s, rel, m.sha256());
        }
    }

    private enum Push { PUSHED, CONFLICT, REFUSED }

    /**
     * CONFLICT when the server refused with 409 (it changed meanwhile): its content is pulled
     * instead. REFUSED when it refused the file for good (400, 413: too large, invalid): that file
     * is left out until it changes, and the rest of the store syncs.
     */
    private Push push(Store s, String rel, String localSha, String expected) throws ApiException, DriverException, IOException,
            InterruptedException {
        try {
            if (localSha == null) {
                scope.api().deleteMemory(scope.token(), s.id, s.ids.get(rel), s.baseline.get(rel));
                settle(s, rel, null);
                return Push.PUSHED;
            }
            String content = read(s, rel);
            String id = s.ids.get(rel);
            WorkQueueApi.Memory m = expected == null || id == null ? scope.api().createMemory(scope.token(), s.id, "/" + rel, content)
                    : scope.api().updateMemory(scope.token(), s.id, id, content, expected);
            s.ids.put(rel, m.id());
            s.refused.remove(rel);
            settle(s, rel, m.sha256());
            return Push.PUSHED;
        } catch (ApiException e) {
            if (localSha != null && (e.status() == 400 || e.status() == 413)) {
                s.refused.put(rel, localSha);
                log.warn("memory store {}: the platform refused {} ({} {}); it stays unsynced until it changes", s.id, rel, e.status(),
                        e.getMessage());
                return Push.REFUSED;
            }
            if (e.status() != 409 && e.status() != 404) {
                throw e;
            }
            for (WorkQueueApi.Memory m : scope.api().memories(scope.token(), s.id)) {
                if (rel.equals(relative(s, m.path()))) {
                    pull(s, rel, m);
                    return Push.CONFLICT;
                }
            }
            pull(s, rel, null);
            return Push.CONFLICT;
        }
    }

    /** rel -> sha of each regular file under the store's directory, the marker included (files over 1 MiB or not UTF-8 are left out). */
    private Map<String, String> scan(Store s) throws DriverException, IOException {
        Map<String, String> out = new LinkedHashMap<>();
        List<FileEntry> entries;
        try {
            entries = scope.sandboxes().listFiles(scope.sandboxId(), s.dir, true);
        } catch (DriverException e) {
            if (e.kind() == DriverException.Kind.NOT_FOUND) {
                return out; // the agent removed the directory: every file is gone
            }
            throw e;
        }
        Map<String, String> seen = new HashMap<>();
        for (FileEntry e : entries) {
            if (e.type() != FileEntry.Type.REGULAR || e.size() > MAX_FILE) {
                continue;
            }
            String rel = e.path().startsWith(s.dir + "/") ? e.path().substring(s.dir.length() + 1) : e.path();
            String key = rel + ":" + e.size() + ":" + e.modifiedAt().toEpochMilli();
            String sha = s.scanned.get(key);
            if (sha == null) {
                byte[] b = bytes(s.dir + "/" + rel);
                if (!utf8(b)) {
                    continue;
                }
                sha = sha(b);
            }
            seen.put(key, sha);
            out.put(rel, sha);
        }
        s.scanned.clear();
        s.scanned.putAll(seen);
        return out;
    }

    private String read(Store s, String rel) throws DriverException, IOException {
        return new String(bytes(s.dir + "/" + rel), StandardCharsets.UTF_8);
    }

    private byte[] bytes(String path) throws DriverException, IOException {
        try (InputStream in = scope.sandboxes().openRead(scope.sandboxId(), path)) {
            return in.readNBytes(MAX_FILE);
        }
    }

    private void write(Store s, String rel, String content) throws DriverException {
        FileUpload up = scope.sandboxes().openWrite(scope.sandboxId(), s.dir + "/" + rel, 0644);
        try {
            up.write(content.getBytes(StandardCharsets.UTF_8));
            up.close();
        } catch (IOException e) {
            up.abort();
            throw new DriverException(DriverException.Kind.INTERNAL, "cannot write memory " + rel + ": " + e.getMessage(), e);
        }
    }

    /** The sandbox's file API has no delete; its shell does. */
    private void remove(Store s, String rel) throws DriverException, InterruptedException {
        run(List.of("rm", "-f", "--", Workdir.shown(s.dir + "/" + rel)));
    }

    private int run(List<String> argv) throws DriverException, InterruptedException {
        try {
            ExecSpec spec = scope.sandboxes().execSpec(argv, Map.of(), "", 30_000, 0, 64 * 1024, false, null);
            return scope.sandboxes().startExec(scope.sandboxId(), spec, c -> { }).await(Duration.ofSeconds(40)).exitCode();
        } catch (PolicyDeniedException | java.util.concurrent.TimeoutException e) {
            throw new DriverException(DriverException.Kind.INTERNAL, "cannot run " + argv.get(0) + " in the sandbox: " + e.getMessage(), e);
        }
    }

    /** The path of a memory below the store's directory; null (and audited) when it would leave it or name the marker. */
    private String relative(Store s, String memoryPath) {
        try {
            // A memory's path is absolute within its store; the drivers' own check refuses NUL and "..".
            String rel = String.join("/", WorkspacePaths.components(memoryPath.replaceFirst("^/+", "")));
            if (!rel.isEmpty() && !rel.equals(MARKER)) {
                return rel;
            }
        } catch (DriverException e) {
            // refused below
        }
        Map<String, Object> f = fields("path_refused", s);
        f.put("path", memoryPath);
        scope.audit().record("worker.memory", f);
        return null;
    }

    private Map<String, Object> fields(String event, Store s) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("event", event);
        f.put("work_id", scope.work().id());
        f.put("session_id", scope.work().sessionId());
        f.put("memory_store_id", s.id);
        f.put("read_only", s.readOnly);
        return f;
    }

    private static boolean utf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
