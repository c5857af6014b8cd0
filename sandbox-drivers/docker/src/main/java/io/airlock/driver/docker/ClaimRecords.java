package io.airlock.driver.docker;

import io.airlock.driver.ResourceLimits;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Which warm-pool container a sandbox claimed, and what it was provisioned as (created, limits,
 * env, labels): a pool container's name and labels were fixed before anyone claimed it, so this
 * lives in the driver's state directory, one properties file per sandbox. Writing the record is
 * the claim's commit point: a container named in a record belongs to that sandbox, also after a
 * crash; a pool container named in none is idle.
 */
final class ClaimRecords {
    /** @param container the pool container's name; empty in records of containers renamed to the sandbox's name (older claims) */
    record Claim(String container, Instant created, ResourceLimits limits, Map<String, String> env, Map<String, String> labels) {}

    private final Path dir;

    ClaimRecords(Path stateDir) throws IOException {
        this.dir = Files.createDirectories(stateDir.resolve("claimed"));
    }

    void write(String sandboxId, Claim claim) throws IOException {
        Properties p = new Properties();
        p.setProperty("container", claim.container());
        p.setProperty("created", claim.created().toString());
        p.setProperty("limits", claim.limits().encode());
        claim.env().forEach((k, v) -> p.setProperty("env." + k, v));
        claim.labels().forEach((k, v) -> p.setProperty("label." + k, v));
        Path tmp = dir.resolve(sandboxId + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "claimed warm-pool container");
        }
        Files.move(tmp, dir.resolve(sandboxId + ".properties"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    Optional<Claim> read(String sandboxId) {
        Path f = dir.resolve(sandboxId + ".properties");
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(f)) {
            p.load(r);
        } catch (IOException e) {
            return Optional.empty();
        }
        Map<String, String> env = new TreeMap<>();
        Map<String, String> labels = new TreeMap<>();
        for (String k : p.stringPropertyNames()) {
            if (k.startsWith("env.")) {
                env.put(k.substring(4), p.getProperty(k));
            } else if (k.startsWith("label.")) {
                labels.put(k.substring(6), p.getProperty(k));
            }
        }
        return Optional.of(new Claim(p.getProperty("container", ""), Instant.parse(p.getProperty("created", Instant.EPOCH.toString())),
                ResourceLimits.decode(p.getProperty("limits")), env, labels));
    }

    /** Every record: sandbox id to claim. */
    Map<String, Claim> all() throws IOException {
        Map<String, Claim> all = new TreeMap<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(x -> x.getFileName().toString().endsWith(".properties")).toList()) {
                String id = f.getFileName().toString().replace(".properties", "");
                read(id).ifPresent(c -> all.put(id, c));
            }
        }
        return all;
    }

    void delete(String sandboxId) throws IOException {
        Files.deleteIfExists(dir.resolve(sandboxId + ".properties"));
    }
}
