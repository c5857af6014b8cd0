package io.airlock.notation;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts as operators write them: {@code 512}, {@code 64KiB}, {@code 16MiB}, {@code 4GiB} (powers of two) or KB, MB, GB, TB (of ten). */
public final class Sizes {
    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([KMGT]i?B|B)?", Pattern.CASE_INSENSITIVE);

    private Sizes() {}

    /** The bytes {@code text} names; refused with what was expected when it names none, or too many. */
    public static long parse(String text) {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (expected: a number with an optional unit: "
                    + "B, KiB, MiB, GiB, TiB (powers of two) or KB, MB, GB, TB (powers of ten), e.g. 512MiB)");
        }
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        int power = "BKMGT".indexOf(unit.charAt(0));
        long base = unit.length() == 3 ? 1024 : 1000;
        try {
            long factor = 1;
            for (int i = 0; i < power; i++) {
                factor = Math.multiplyExact(factor, base);
            }
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large a size (expected: at most " + Long.MAX_VALUE + " bytes)");
        }
    }
}
