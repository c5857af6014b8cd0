package io.airlock.core.config;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A byte count written as {@code 512}, {@code 64KiB}, {@code 16MiB}, {@code 4GiB} (also KB/MB/GB, powers of ten). */
public record ByteSize(long bytes) {
    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([KMGT]i?B|B)?");

    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException(bytes + " (expected: >= 0)");
        }
    }

    public static ByteSize parse(String text) {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (expected: a number with an optional unit: B, KiB, MiB, GiB, TiB, KB, MB, GB)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        long factor = switch (unit) {
            case "B" -> 1;
            case "KIB" -> 1L << 10;
            case "MIB" -> 1L << 20;
            case "GIB" -> 1L << 30;
            case "TIB" -> 1L << 40;
            case "KB" -> 1_000;
            case "MB" -> 1_000_000;
            case "GB" -> 1_000_000_000;
            default -> 1_000_000_000_000L;
        };
        return new ByteSize(Math.multiplyExact(n, factor));
    }
}
