package io.airlock.driver;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Re-writes an uploaded tar entry by entry before anything extracts it, so every driver
 * extracts only what is safe: relative names without "..", no entry below a symlink of the same
 * archive (the classic tar-slip), hard links only to earlier files of the archive, no devices or
 * fifos, no set-id or sticky bits, and owner the sandbox user. commons-compress parses and
 * writes the format; this class only decides what passes.
 */
public final class SafeTar {
    /** Entries one archive may hold at most. */
    public static final long MAX_ENTRIES = 100_000;

    /** What went through. */
    public record Summary(long entries, long bytes) {}

    private final int uid;
    private final int gid;
    private final long maxEntries;

    public SafeTar(int uid, int gid, long maxEntries) {
        this.uid = uid;
        this.gid = gid;
        this.maxEntries = maxEntries;
    }

    /**
     * Copies {@code in} to {@code out} (a complete tar), every entry placed below {@code prefix}
     * (components of a directory that may not exist yet: written first as directory entries).
     * Throws INVALID_ARGUMENT naming the first entry refused; what was written before it stays
     * written.
     */
    public Summary copy(InputStream in, OutputStream out, List<String> prefix) throws DriverException, IOException {
        TarArchiveInputStream tarIn = new TarArchiveInputStream(in);
        TarArchiveOutputStream tarOut = new TarArchiveOutputStream(out);
        tarOut.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tarOut.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        String base = directories(tarOut, prefix, uid, gid);
        Set<String> symlinks = new HashSet<>();
        Set<String> files = new HashSet<>();
        long entries = 0;
        long bytes = 0;
        TarArchiveEntry e;
        while ((e = tarIn.getNextEntry()) != null) {
            if (++entries > maxEntries) {
                throw refused(e.getName(), "the archive has more than " + maxEntries + " entries");
            }
            String name = relativeName(e.getName());
            if (name.isEmpty()) {
                continue; // "./" itself: the target directory exists already
            }
            for (int slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) {
                if (symlinks.contains(name.substring(0, slash))) {
                    throw refused(e.getName(), "it lies below the symbolic link '" + name.substring(0, slash) + "' of the same archive");
                }
            }
            TarArchiveEntry copy;
            if (e.isDirectory()) {
                copy = new TarArchiveEntry(base + name + "/");
                copy.setMode(040000 | (e.getMode() & 0777 | 0700));
            } else if (e.isSymbolicLink()) {
                copy = new TarArchiveEntry(base + name, TarArchiveEntry.LF_SYMLINK);
                copy.setLinkName(e.getLinkName());
                symlinks.add(name);
            } else if (e.isLink()) {
                String target = relativeName(e.getLinkName());
                if (!files.contains(target)) {
                    throw refused(e.getName(), "it is a hard link to '" + e.getLinkName() + "', which is not an earlier file of the archive");
                }
                copy = new TarArchiveEntry(base + name, TarArchiveEntry.LF_LINK);
                copy.setLinkName(base + target);
            } else if (isRegular(e)) {
                copy = new TarArchiveEntry(base + name);
                copy.setMode(0100000 | (e.getMode() & 0777));
                copy.setSize(e.getSize());
                files.add(name);
            } else {
                throw refused(e.getName(), "devices, fifos and other special files are not allowed (expected: files, directories, links)");
            }
            copy.setIds(uid, gid);
            copy.setModTime(e.getModTime());
            tarOut.putArchiveEntry(copy);
            if (isRegular(e)) {
                bytes += tarIn.transferTo(tarOut);
            }
            tarOut.closeArchiveEntry();
        }
        tarOut.finish();
        tarOut.flush();
        return new Summary(entries, bytes);
    }

    /** Writes directory entries for {@code dirs} (each inside the previous one, owned by uid:gid); returns their path with a trailing "/". */
    public static String directories(TarArchiveOutputStream tar, List<String> dirs, int uid, int gid) throws IOException {
        String base = "";
        for (String dir : dirs) {
            base += dir + "/";
            TarArchiveEntry d = new TarArchiveEntry(base);
            d.setMode(040755);
            d.setIds(uid, gid);
            tar.putArchiveEntry(d);
            tar.closeArchiveEntry();
        }
        return base;
    }

    /** By type flag: commons-compress's isFile() is also true for fifos and devices. */
    private static boolean isRegular(TarArchiveEntry e) {
        byte flag = e.getLinkFlag();
        return flag == TarArchiveEntry.LF_NORMAL || flag == TarArchiveEntry.LF_OLDNORM || flag == TarArchiveEntry.LF_CONTIG;
    }

    /** The entry's name relative to the target directory: no leading "./" or "/", no "..", no NUL. */
    static String relativeName(String raw) throws DriverException {
        String name = raw;
        while (name.startsWith("./")) {
            name = name.substring(2);
        }
        if (name.equals(".")) {
            name = "";
        }
        if (name.endsWith("/")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.startsWith("/")) {
            throw refused(raw, "absolute names are not allowed (expected: names relative to the target directory)");
        }
        if (name.indexOf('\0') >= 0) {
            throw refused(raw, "the name contains NUL");
        }
        for (String part : name.split("/")) {
            if (part.equals("..")) {
                throw refused(raw, "'..' is not allowed in entry names");
            }
        }
        return name.replace("/./", "/");
    }

    private static DriverException refused(String entry, String why) {
        return new DriverException(DriverException.Kind.INVALID_ARGUMENT, "archive entry '" + entry + "' refused: " + why);
    }
}
