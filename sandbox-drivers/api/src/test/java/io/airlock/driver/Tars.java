package io.airlock.driver;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Builds and reads small tar archives for tests. */
public final class Tars {
    private Tars() {}

    /** One entry and its content. */
    public record Entry(TarArchiveEntry header, byte[] content) {}

    public static Entry dir(String name) {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(040755);
        return new Entry(e, new byte[0]);
    }

    public static Entry file(String name, String content, int mode) {
        // preserveAbsolutePath: tests must be able to build hostile names
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        e.setMode(0100000 | mode);
        e.setSize(bytes.length);
        return new Entry(e, bytes);
    }

    public static Entry symlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(target);
        return new Entry(e, new byte[0]);
    }

    public static Entry hardlink(String name, String target) {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_LINK);
        e.setLinkName(target);
        return new Entry(e, new byte[0]);
    }

    public static Entry fifo(String name) {
        return new Entry(new TarArchiveEntry(name, TarArchiveEntry.LF_FIFO), new byte[0]);
    }

    public static ByteArrayInputStream of(Entry... entries) throws IOException {
        return new ByteArrayInputStream(bytes(entries));
    }

    public static byte[] bytes(Entry... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Entry e : entries) {
                tar.putArchiveEntry(e.header());
                tar.write(e.content());
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    /** Name (without a trailing "/") to content; "-> target" for symlinks, "" for directories, a hard link's target's content. */
    public static Map<String, String> read(InputStream in) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String name = e.getName().endsWith("/") ? e.getName().substring(0, e.getName().length() - 1) : e.getName();
                entries.put(name, e.isSymbolicLink() ? "-> " + e.getLinkName()
                        : e.isLink() ? entries.get(e.getLinkName()) : new String(tar.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        return entries;
    }
}
