package io.airlock.core.egress;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.tunnel.net.Cidr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each sandbox's egress allowlist, always within the operator's bound. Kept in
 * {@code state_dir/egress/<sandbox>.json} so a sandbox that outlives a daemon restart keeps it;
 * a sandbox without an entry reaches nothing.
 */
public final class SandboxEgress {
    private static final Logger log = LoggerFactory.getLogger(SandboxEgress.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The stored form of one rule. */
    record StoredRule(String domain, String cidr, List<Integer> ports) {
        static StoredRule of(EgressRule r) {
            return new StoredRule(r.domain(), r.cidr() == null ? null : r.cidr().toString(), r.ports().stream().sorted().toList());
        }

        EgressRule rule() {
            return new EgressRule(domain, cidr == null ? null : Cidr.parse(cidr), Set.copyOf(ports == null ? List.of() : ports));
        }
    }

    private final EgressPolicy bound;
    private final Path dir;
    private final Map<String, EgressPolicy> policies = new ConcurrentHashMap<>();

    public SandboxEgress(EgressPolicy bound, Path dir) {
        this.bound = bound;
        this.dir = dir;
    }

    public EgressPolicy bound() {
        return bound;
    }

    /** The sandbox's allowlist; nothing for a sandbox that was given none. */
    public EgressPolicy policyOf(String sandboxId) {
        return policies.getOrDefault(sandboxId, EgressPolicy.DENY_ALL);
    }

    /**
     * Replaces a sandbox's allowlist (at provision, or as a live update: connections opened from
     * now on see it). A rule wider than the operator's bound refuses the whole request.
     */
    public EgressPolicy set(String sandboxId, List<EgressRule> requested) throws PolicyDeniedException, IOException {
        EgressPolicy p = EgressPolicy.narrowed(requested, bound);
        store(sandboxId, p);
        policies.put(sandboxId, p);
        return p;
    }

    public void remove(String sandboxId) {
        policies.remove(sandboxId);
        try {
            Files.deleteIfExists(file(sandboxId));
        } catch (IOException e) {
            log.warn("cannot remove the egress policy of sandbox {}: {}", sandboxId, e.getMessage());
        }
    }

    /**
     * Loads the stored allowlists of the sandboxes that are still alive and forgets the others.
     * A stored rule the operator's bound no longer covers is dropped (the bound may have
     * narrowed since), and said so.
     */
    public void load(Set<String> liveSandboxes) throws IOException {
        Files.createDirectories(dir);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".json")) {
                    Files.deleteIfExists(f); // a temporary file of an interrupted store
                    continue;
                }
                String id = name.substring(0, name.length() - 5);
                if (!liveSandboxes.contains(id)) {
                    Files.deleteIfExists(f);
                    continue;
                }
                List<EgressRule> kept = new ArrayList<>();
                for (StoredRule s : JSON.readValue(f.toFile(), StoredRule[].class)) {
                    EgressRule r = s.rule();
                    if (bound.rules().stream().anyMatch(r::within)) {
                        kept.add(r);
                    } else {
                        log.warn("sandbox {}: egress rule {} is no longer within policy.egress and is dropped", id, r);
                    }
                }
                policies.put(id, new EgressPolicy(kept));
            }
        }
    }

    private void store(String sandboxId, EgressPolicy p) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(sandboxId + ".json.tmp");
        Files.write(tmp, JSON.writeValueAsBytes(p.rules().stream().map(StoredRule::of).toList()));
        Files.move(tmp, file(sandboxId), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private Path file(String sandboxId) {
        return dir.resolve(sandboxId + ".json");
    }
}
