package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.driver.DriverException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The skills of the session's agent and of its subagents (the agent's first, each skill id once),
 * each downloaded into {@code skills/<name>/} of the sandbox's workspace; a skill whose directory an
 * earlier one took is skipped, as the SDK 1.16 worker does. Zip archives are rewritten as tar, gzip
 * is undone; links and devices are left out (the rest of the skill is extracted, as the SDK's
 * extraction excludes them), and a member that is absolute or climbs out refuses the skill. A
 * skill that cannot be installed is audited and skipped: the session runs without it.
 */
final class Skills {
    private static final Logger log = LoggerFactory.getLogger(Skills.class);
    static final int MAX_ARCHIVE = 32 << 20;

    private final SessionScope scope;

    Skills(SessionScope scope) {
        this.scope = scope;
    }

    /** The agent's skills, then its subagents' (coordinator agents, or enabled predefined subagents and workflows); each id once. */
    static List<JsonNode> skillsOf(JsonNode agent) {
        List<JsonNode> all = new ArrayList<>();
        agent.path("skills").forEach(all::add);
        JsonNode multi = agent.path("multiagent");
        List<JsonNode> subagents = new ArrayList<>();
        if (multi.path("type").asText().equals("coordinator")) {
            multi.path("agents").forEach(subagents::add);
        } else if (multi.path("type").asText().equals("multiagent_20261001")) {
            for (String member : List.of("subagents", "workflows")) {
                if (multi.path(member).path("type").asText().equals("enabled")) {
                    multi.path(member).path("predefined_agents").forEach(subagents::add);
                }
            }
        }
        for (JsonNode a : subagents) {
            if (a.path("type").asText().equals("agent")) {
                a.path("skills").forEach(all::add);
            }
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        all.removeIf(k -> !seen.add(k.path("skill_id").asText()));
        return all;
    }

    void install(JsonNode session) throws InterruptedException {
        java.util.Set<String> taken = new java.util.HashSet<>();
        for (JsonNode skill : skillsOf(session.path("agent"))) {
            String skillId = skill.path("skill_id").asText();
            String outcome;
            String dir = "";
            List<String> leftOut = new ArrayList<>();
            try {
                JsonNode version = scope.api().skillVersion(scope.token(), skillId, skill.path("version").asText("latest"));
                dir = "skills/" + directoryName(version.path("name").asText(""), skillId);
                if (taken.contains(dir)) { // only one that was installed takes the directory, as in the SDK
                    outcome = "skipped: an earlier skill was installed in " + dir;
                    record(skillId, dir, outcome, leftOut);
                    continue;
                }
                byte[] archive = scope.api().skillContent(scope.token(), skillId, version.path("id").asText(), MAX_ARCHIVE);
                try (InputStream tar = asTar(archive, leftOut)) {
                    scope.sandboxes().extractArchive(scope.sandboxId(), dir, tar);
                }
                taken.add(dir);
                outcome = "installed";
            } catch (ApiException | DriverException | IOException e) {
                outcome = "refused: " + e.getMessage();
                log.warn("skill {} of session {} not installed: {}", skillId, scope.work().sessionId(), e.getMessage());
            }
            record(skillId, dir, outcome, leftOut);
        }
    }

    private void record(String skillId, String dir, String outcome, List<String> leftOut) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("event", "skill");
        f.put("work_id", scope.work().id());
        f.put("session_id", scope.work().sessionId());
        f.put("skill_id", skillId);
        f.put("directory", dir);
        f.put("outcome", outcome);
        f.put("left_out", leftOut);
        scope.audit().record("worker.session", f);
    }

    /** One safe path component from the skill's name, else its id. */
    static String directoryName(String name, String skillId) {
        String n = name.strip().replaceAll("[^A-Za-z0-9._-]", "-");
        return n.isEmpty() || n.chars().allMatch(c -> c == '.') ? skillId.replaceAll("[^A-Za-z0-9._-]", "-") : n;
    }

    /** One member of a skill archive: a directory (body null) or a file. */
    private record Member(String name, byte[] body, int mode) {}

    /**
     * The archive as a tar stream the driver's safe extraction takes: zip or tar (gzip undone),
     * links and devices refused, and a single top directory that wraps everything stripped
     * (skills are usually zipped as {@code name/SKILL.md}; the skill's directory already is {@code name}).
     */
    static InputStream asTar(byte[] a, List<String> leftOut) throws IOException {
        List<Member> members = a.length >= 4 && a[0] == 'P' && a[1] == 'K' && a[2] == 3 && a[3] == 4 ? fromZip(a, leftOut) : fromTar(a, leftOut);
        requireInside(members);
        String top = topDirectory(members);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Member m : members) {
                String name = top == null ? m.name() : m.name().substring(top.length());
                if (name.isEmpty() || name.equals("/")) {
                    continue;
                }
                TarArchiveEntry t = new TarArchiveEntry(name);
                if (m.body() != null) {
                    t.setSize(m.body().length);
                    t.setMode(0100644 | (m.mode() & 0111));
                }
                tar.putArchiveEntry(t);
                if (m.body() != null) {
                    tar.write(m.body());
                }
                tar.closeArchiveEntry();
            }
        }
        return new ByteArrayInputStream(out.toByteArray());
    }

    /** "top/" when every member lies under that one directory, else null. */
    private static String topDirectory(List<Member> members) {
        String top = null;
        for (Member m : members) {
            int slash = m.name().indexOf('/');
            if (slash < 0) {
                return null; // a member at the top level: nothing wraps everything
            }
            String first = m.name().substring(0, slash + 1);
            if (top != null && !top.equals(first)) {
                return null;
            }
            top = first;
        }
        return top;
    }

    /** Absolute names and '..' are refused before anything is stripped or written. */
    private static void requireInside(List<Member> members) throws IOException {
        for (Member m : members) {
            if (m.name().startsWith("/") || List.of(m.name().split("/")).contains("..")) {
                throw new IOException("skill archive member '" + m.name() + "' leaves its directory (refused)");
            }
        }
    }

    /** A member's bytes; {@code total} counts the archive's so far, which may not pass {@link #MAX_ARCHIVE} (a zip bomb). */
    private static byte[] body(InputStream in, long[] total) throws IOException {
        byte[] body = in.readNBytes(MAX_ARCHIVE + 1);
        total[0] += body.length;
        if (total[0] > MAX_ARCHIVE) {
            throw new IOException("skill archive expands past " + MAX_ARCHIVE + " bytes (refused)");
        }
        return body;
    }

    private static List<Member> fromZip(byte[] zip, List<String> leftOut) throws IOException {
        List<Member> out = new ArrayList<>();
        long[] total = {0};
        try (ZipArchiveInputStream in = new ZipArchiveInputStream(new ByteArrayInputStream(zip))) {
            ZipArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                if (e.isUnixSymlink()) {
                    leftOut.add(e.getName()); // a link is left out; the rest is extracted
                    continue;
                }
                out.add(new Member(e.getName(), e.isDirectory() ? null : body(in, total), e.getUnixMode()));
            }
        }
        return out;
    }

    private static List<Member> fromTar(byte[] a, List<String> leftOut) throws IOException {
        InputStream raw = a.length >= 2 && (a[0] & 0xff) == 0x1f && (a[1] & 0xff) == 0x8b
                ? new GZIPInputStream(new ByteArrayInputStream(a)) : new ByteArrayInputStream(a);
        List<Member> out = new ArrayList<>();
        long[] total = {0};
        try (TarArchiveInputStream in = new TarArchiveInputStream(raw)) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                // Not isFile(): commons-compress calls a symbolic link a file when its name has no trailing slash.
                if (e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice() || e.isFIFO()
                        || !e.isDirectory() && !e.isFile()) {
                    leftOut.add(e.getName()); // links and devices are left out; the rest is extracted
                    continue;
                }
                out.add(new Member(e.getName(), e.isDirectory() ? null : body(in, total), e.getMode()));
            }
        }
        return out;
    }
}
