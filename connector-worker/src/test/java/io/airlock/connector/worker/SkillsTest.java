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
        assertEquals(List.of("SKILL.md", "scripts/"), names(Skills.asTar(Archives.zip2("pdf/SKILL.md", "pdf/scripts/"))));
    }

    @Test
    void aGzippedTarIsUndoneAndMembersAtTheTopStayAsTheyAre() throws IOException {
        assertEquals(List.of("SKILL.md", "lib/a.py"), names(Skills.asTar(tar(true, file("SKILL.md"), file("lib/a.py")))));
    }

    @Test
    void linksDevicesAndClimbingMembersRefuseTheSkill() {
        TarArchiveEntry link = new TarArchiveEntry("skill/leak", TarArchiveEntry.LF_SYMLINK);
        link.setLinkName("/etc/shadow");
        assertTrue(assertThrows(IOException.class, () -> Skills.asTar(tar(false, file("skill/SKILL.md"), link))).getMessage()
                .contains("is a link or a device"));
        assertTrue(assertThrows(IOException.class, () -> Skills.asTar(tar(false, file("skill/../../x")))).getMessage()
                .contains("leaves its directory"));
        assertTrue(assertThrows(IOException.class, () -> Skills.asTar(Archives.zip("../evil", "x"))).getMessage()
                .contains("leaves its directory"));
    }

    @Test
    void aSkillsDirectoryNameIsOneSafeComponent() {
        assertEquals("pdf-tools", Skills.directoryName("pdf tools", "skill_1"));
        assertEquals("skill_1", Skills.directoryName("..", "skill_1"));
        assertEquals("a-b", Skills.directoryName("a/b", "skill_1"));
    }
}
