package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

class SkillsTest {
    private static List<String> names(InputStream tar) throws IOException {
        List<String> out = new ArrayList<>();
        try (TarArchiveInputStream in = new TarArchiveInputStream(tar)) {
            TarArchiveEntry e;
            while ((e = in.getNextEntry()) != null) {
                out.add(e.getName());
            }
        }
        return out;
    }

    private static byte[] tar(boolean gzip, TarArchiveEntry... entries) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarArchiveOutputStream t = new TarArchiveOutputStream(gzip ? new GZIPOutputStream(b) : b)) {
            for (TarArchiveEntry e : entries) {
                t.putArchiveEntry(e);
                if (e.isFile()) {
                    t.write(new byte[(int) e.getSize()]);
                }
                t.closeArchiveEntry();
            }
        }
        return b.toByteArray();
    }

    private static TarArchiveEntry file(String name) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setSize(3);
        return e;
    }

    @Test
    void aZipWrappedInItsOwnDirectoryLosesTheWrapper() throws IOException {
        assertEquals(List.of("SKILL.md", "scripts/"), names(Skills.asTar(Archives.zip2("pdf/SKILL.md", "pdf/scripts/"), new java.util.ArrayList<>())));
    }

    @Test
    void aGzippedTarIsUndoneAndMembersAtTheTopStayAsTheyAre() throws IOException {
        assertEquals(List.of("SKILL.md", "lib/a.py"), names(Skills.asTar(tar(true, file("SKILL.md"), file("lib/a.py")), new java.util.ArrayList<>())));
    }

    @Test
    void linksAndDevicesAreLeftOutAndTheRestIsExtracted() throws IOException {
        TarArchiveEntry link = new TarArchiveEntry("skill/leak", TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("/etc/shadow");
        List<String> leftOut = new java.util.ArrayList<>();
        assertEquals(List.of("SKILL.md"), names(Skills.asTar(tar(false, file("skill/SKILL.md"), link), leftOut)));
        assertEquals(List.of("skill/leak"), leftOut, "as the SDK 1.16 extraction excludes them");
    }

    @Test
    void climbingMembersRefuseTheSkill() {
        assertTrue(assertThrows(IOException.class, () -> Skills.asTar(tar(false, file("skill/../../x")), new java.util.ArrayList<>()))
                .getMessage().contains("leaves its directory"));
        assertTrue(assertThrows(IOException.class, () -> Skills.asTar(Archives.zip("../evil", "x"), new java.util.ArrayList<>()))
                .getMessage().contains("leaves its directory"));
    }

    @Test
    void theAgentsSkillsComeFirstThenItsSubagentsEachIdOnce() throws IOException {
        com.fasterxml.jackson.databind.JsonNode agent = new com.fasterxml.jackson.databind.ObjectMapper().readTree("""
                {"skills":[{"skill_id":"s1"},{"skill_id":"s2"}],
                 "multiagent":{"type":"multiagent_20261001",
                   "subagents":{"type":"enabled","predefined_agents":[{"type":"agent","skills":[{"skill_id":"s2"},{"skill_id":"s3"}]}]},
                   "workflows":{"type":"disabled","predefined_agents":[{"type":"agent","skills":[{"skill_id":"s9"}]}]}}}""");
        assertEquals(List.of("s1", "s2", "s3"), Skills.skillsOf(agent).stream().map(k -> k.path("skill_id").asText()).toList());
        com.fasterxml.jackson.databind.JsonNode coordinator = new com.fasterxml.jackson.databind.ObjectMapper().readTree("""
                {"skills":[],"multiagent":{"type":"coordinator","agents":[{"type":"agent","skills":[{"skill_id":"c1"}]}]}}""");
        assertEquals(List.of("c1"), Skills.skillsOf(coordinator).stream().map(k -> k.path("skill_id").asText()).toList());
    }

    @Test
    void aSkillsDirectoryNameIsOneSafeComponent() {
        assertEquals("pdf-tools", Skills.directoryName("pdf tools", "skill_1"));
        assertEquals("skill_1", Skills.directoryName("..", "skill_1"));
        assertEquals("a-b", Skills.directoryName("a/b", "skill_1"));
    }
}
