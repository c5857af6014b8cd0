package io.airlock.controlplane.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.proto.v1.AuditAnchor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The highest audit anchor each agent reported, kept outside the agent's host (in the control
 * plane's state directory, across restarts of either side): a log rolled back on the agent's
 * host verifies locally but no longer reaches it. A report that goes back (a lower seq, or
 * another hash at the anchored seq) never replaces the anchor; it is remembered as a warning.
 */
public final class AuditAnchors {
    private static final Logger log = LoggerFactory.getLogger(AuditAnchors.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** What is kept per agent; {@code warning} empty while the agent's reports only went forward. */
    public record Kept(AuditAnchor anchor, Instant at, String warning) {}

    private final Path dir;
    private final Map<String, Kept> byAgent = new ConcurrentHashMap<>();

    /** @param dir where each agent's anchor is kept ({@code AGENT.json}); null keeps them in memory only */
    public AuditAnchors(Path dir) {
        this.dir = dir;
    }

    public Optional<Kept> get(String agentId) {
        return Optional.ofNullable(byAgent.computeIfAbsent(agentId, this::load));
    }

    /** Takes a report from the agent: a higher seq becomes the anchor; a lower one or another hash is a warning. */
    public void report(String agentId, AuditAnchor reported) {
        if (reported.getSeq() < 1) {
            return;
        }
        byAgent.compute(agentId, (id, kept) -> {
            if (kept == null) {
                kept = load(id);
            }
            Kept next = next(kept, reported);
            if (next != kept) {
                store(id, next);
            }
            return next;
        });
    }

    private static Kept next(Kept kept, AuditAnchor reported) {
        if (kept == null || reported.getSeq() > kept.anchor().getSeq()) {
            return new Kept(reported, Instant.now(), kept == null ? "" : kept.warning());
        }
        String warning = null;
        if (reported.getSeq() < kept.anchor().getSeq()) {
            warning = "the agent reported audit seq " + reported.getSeq() + " after seq " + kept.anchor().getSeq()
                    + ": its log went back (rolled back, or moved aside)";
        } else if (!reported.getSha256().equals(kept.anchor().getSha256())) {
            warning = "the agent reported another hash for audit seq " + reported.getSeq() + ": its log was rewritten";
        }
        if (warning == null || warning.equals(kept.warning())) {
            return kept;
        }
        log.warn("audit anchor: {}", warning);
        return new Kept(kept.anchor(), kept.at(), warning);
    }

    private Path file(String agentId) {
        if (dir == null || !SAFE_ID.matcher(agentId).matches()) {
            return null;
        }
        return dir.resolve(agentId + ".json");
    }

    private Kept load(String agentId) {
        Path f = file(agentId);
        if (f == null || !Files.exists(f)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(f.toFile());
            return new Kept(AuditAnchor.newBuilder().setSeq(n.path("seq").asLong()).setSha256(n.path("sha256").asText()).build(),
                    Instant.parse(n.path("at").asText()), n.path("warning").asText(""));
        } catch (IOException | RuntimeException e) {
            log.error("cannot read the audit anchor of {} from {}: {}", agentId, f, e.toString());
            return null;
        }
    }

    private void store(String agentId, Kept kept) {
        Path f = file(agentId);
        if (f == null) {
            return;
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("seq", kept.anchor().getSeq());
        fields.put("sha256", kept.anchor().getSha256());
        fields.put("at", kept.at().toString());
        fields.put("warning", kept.warning());
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, agentId, ".tmp");
            Files.write(tmp, JSON.writeValueAsBytes(fields));
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            log.error("cannot keep the audit anchor of {} in {}: {}", agentId, f, e.toString());
        }
    }
}
