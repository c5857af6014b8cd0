package io.airlock.tunnel.mcp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * A credential kept in a local file (e.g. a systemd credential), read again whenever the file
 * changes, so rotating it needs no restart. Its value is never logged: {@link #toString} names
 * the file only.
 *
 * @param prefix put before the file's content (e.g. "Bearer ")
 */
public final class SecretFile {
    private final Path path;
    private final String prefix;
    private volatile FileTime readAt;
    private volatile String value;

    public SecretFile(Path path, String prefix) {
        this.path = path;
        this.prefix = prefix == null ? "" : prefix;
    }

    public Path path() {
        return path;
    }

    /** The header value: the prefix and the file's content without surrounding whitespace. */
    public String value() throws IOException {
        FileTime modified = Files.getLastModifiedTime(path);
        String v = value;
        if (v == null || !modified.equals(readAt)) {
            String content = Files.readString(path).strip();
            if (content.isEmpty() || content.contains("\n") || content.contains("\r")) {
                throw new IOException("secret file " + path + " must hold one non-empty line");
            }
            v = prefix + content;
            value = v;
            readAt = modified;
        }
        return v;
    }

    @Override
    public String toString() {
        return "secret file " + path;
    }
}
