package io.airlock.driver.bubblewrap;

import io.airlock.driver.ResourceLimits;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxState;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * One sandbox on disk: {@code <root>/<id>/sandbox.properties} (what was provisioned, written
 * atomically last, so a directory without it is a provision that never finished),
 * {@code workspace/}, {@code tmp/} and {@code volumes/<n>/} (one per volume, bound at its path). Properties rather than JSON keeps the driver free of
 * heavy dependencies.
 */
record SandboxDirectory(Path dir) {
    static final String METADATA = "sandbox.properties";

    Path workspace() {
        return dir.resolve("workspace");
    }

    Path tmp() {
        return dir.resolve("tmp");
    }

    /** The host directory of the sandbox's {@code n}th volume: outside the workspace, so the sandbox cannot swap it for a link. */
    Path volume(int n) {
        return dir.resolve("volumes").resolve(Integer.toString(n));
    }

    Path metadata() {
        return dir.resolve(METADATA);
    }

    void create(int volumes) throws IOException {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createDirectories(workspace());
        Files.createDirectories(tmp());
        for (int n = 0; n < volumes; n++) {
            Files.createDirectories(volume(n));
        }
        // The sandbox's uid differs from ours once user namespaces are in play; make /tmp usable by it.
        Files.setPosixFilePermissions(tmp(), PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    void write(Sandbox sandbox, String agentId) throws IOException {
        Properties p = new Properties();
        p.setProperty("id", sandbox.id());
        p.setProperty("agent", agentId);
        p.setProperty("created", sandbox.createdAt().toString());
        p.setProperty("limits.memory", Long.toString(sandbox.limits().memoryBytes()));
        p.setProperty("limits.processes", Integer.toString(sandbox.limits().maxProcesses()));
        p.setProperty("limits.cpu", Long.toString(sandbox.limits().cpuSeconds()));
        sandbox.env().forEach((k, v) -> p.setProperty("env." + k, v));
        sandbox.labels().forEach((k, v) -> p.setProperty("label." + k, v));
        for (int n = 0; n < sandbox.volumes().size(); n++) {
            p.setProperty("volume." + n, sandbox.volumes().get(n));
        }
        Path tmpFile = dir.resolve(METADATA + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmpFile)) {
            p.store(w, "airlock bubblewrap sandbox");
        }
        try {
            Files.move(tmpFile, metadata(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmpFile, metadata(), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Reads the metadata; empty when missing or written by another agent (never ours to touch). */
    Optional<Sandbox> read(String agentId) throws IOException {
        if (!Files.isRegularFile(metadata())) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(metadata())) {
            p.load(r);
        }
        if (!agentId.equals(p.getProperty("agent"))) {
            return Optional.empty();
        }
        Map<String, String> env = new TreeMap<>();
        Map<String, String> labels = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("env.")) {
                env.put(key.substring(4), p.getProperty(key));
            } else if (key.startsWith("label.")) {
                labels.put(key.substring(6), p.getProperty(key));
            }
        }
        List<String> volumes = new ArrayList<>();
        for (int n = 0; p.getProperty("volume." + n) != null; n++) {
            volumes.add(p.getProperty("volume." + n));
        }
        ResourceLimits limits = new ResourceLimits(Long.parseLong(p.getProperty("limits.memory", "0")),
                Integer.parseInt(p.getProperty("limits.processes", "0")), Long.parseLong(p.getProperty("limits.cpu", "0")));
        return Optional.of(new Sandbox(p.getProperty("id"), BubblewrapDriverProvider.NAME, SandboxState.READY,
                Instant.parse(p.getProperty("created")), limits, env, labels, volumes));
    }
}
