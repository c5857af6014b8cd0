package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.core.audit.AuditTrail;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session agent's skills, each downloaded into {@code skills/<name>/} of the sandbox's
 * workspace. Zip archives are rewritten as tar (symbolic links refused), gzip is undone, and the
 * driver's extraction refuses what leaves the directory, links and devices. A skill that cannot be
 * installed is audited and skipped: the session runs without it, as the platform's own worker does.
 */
final class Skills {
    private static final Logger log = LoggerFactory.getLogger(Skills.class);
    static final int MAX_ARCHIVE = 32 << 20;

    private final WorkQueueApi api;
    private final Credential token;
    private final SandboxService sandboxes;
    private final String sandboxId;
    private final AuditTrail audit;
    private final WorkQueueApi.Work work;

    Skills(WorkQueueApi api, Credential token, SandboxService sandboxes, String sandboxId, AuditTrail audit, WorkQueueApi.Work work) {
        this.api = api;
        this.token = token;
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
        this.audit = audit;
        this.work = work;
    }

    void install(JsonNode session) throws InterruptedException {
        for (JsonNode skill : session.path("agent").path("skills")) {
            String skillId = skill.path("skill_id").asText();
            String outcome;
            String dir = "";
            try {
                JsonNode version = api.skillVersion(token, skillId, skill.path("version").asText("latest"));
                dir = "skills/" + directoryName(version.path("name").asText(""), skillId);
                byte[] archive = api.skillContent(token, skillId, version.path("id").asText(), MAX_ARCHIVE);
                try (InputStream tar = asTar(archive)) {
                    sandboxes.extractArchive(sandboxId, dir, tar);
                }
                outcome = "installed";
            } catch (ApiException | DriverException | IOException e) {
                outcome = "refused: " + e.getMessage();
                log.warn("skill {} of session {} not installed: {}", skillId, work.sessionId(), e.getMessage());
            }
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("event", "skill");
            f.put("work_id", work.id());
            f.put("session_id", work.sessionId());
            f.put("skill_id", skillId);
            f.put("directory", dir);
            f.put("outcome", outcome);
            audit.record("worker.session", f);
        }
    }

    /** One safe path component from the skill's name, else its id. */
    static String directoryName(String name, String skillId) {
        String n = name.strip().replaceAll("[^A-Za-z0-9._-]", "-");
        return n.isEmpty() || n.chars().allMatch(c -> c == '.') ? skillId.replaceAll("[^A-Za-z0-9._-]", "-") : n;
    }

    /** The archive as a tar stream: tar as it is, gzip undone, zip rewritten. */
    static InputStream asTar(byte[] a) throws IOException {
        if (a.length >= 4 && a[0] == 'P' && a[1] == 'K' && a[2] == 3 && a[3] == 4) {
            return new ByteArrayInputStream(zipToTar(a));
        }
        if (a.length >= 2 && (a[0] & 0xff) == 0x1f && (a[1] & 0xff) == 0x8b) {
            return new GZIPInputStream(new ByteArrayInputStream(a));
        }
        return new ByteArrayInputStream(a);
    }

    private static byte[] zipToTar(byte[] zip) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipArchiveInputStream in = new ZipArchiveInputStream(new ByteArrayInputStream(zip));
                TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            ZipArchiveEntry e;
            long total = 0;
            while ((e = in.getNextEntry()) != null) {
                if (e.isUnixSymlink()) {
                    throw new IOException("skill archive member '" + e.getName() + "' is a symbolic link (refused)");
                }
                TarArchiveEntry t = new TarArchiveEntry(e.getName());
                if (e.isDirectory()) {
                    tar.putArchiveEntry(t);
                } else {
                    byte[] body = in.readNBytes(MAX_ARCHIVE + 1);
                    total += body.length;
                    if (total > MAX_ARCHIVE) {
                        throw new IOException("skill archive expands past " + MAX_ARCHIVE + " bytes (refused)");
                    }
                    t.setSize(body.length);
                    t.setMode(0100644 | (e.getUnixMode() & 0111));
                    tar.putArchiveEntry(t);
                    tar.write(body);
                }
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }
}
