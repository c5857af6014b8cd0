package io.airlock.core.audit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The log's files in chain order. */
final class AuditFiles {
    private static final Pattern NAME = Pattern.compile("audit-(\\d{6})\\.log");

    record Numbered(int index, Path path) {}

    static List<Numbered> list(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> {
                Matcher m = NAME.matcher(p.getFileName().toString());
                return m.matches() ? new Numbered(Integer.parseInt(m.group(1)), p) : null;
            }).filter(n -> n != null).sorted(Comparator.comparingInt(Numbered::index)).toList();
        }
    }

    private AuditFiles() {}
}
