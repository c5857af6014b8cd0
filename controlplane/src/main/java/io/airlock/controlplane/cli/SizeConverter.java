package io.airlock.controlplane.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * A byte count as the agent's configuration writes sizes ({@code 512MiB}, {@code 2GB},
 * {@code 1048576}), for options such as {@code --memory}. The daemon reads the same syntax with
 * its own {@code ByteSize}; this module depends only on the protocol, so it parses for itself.
 */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    private static final Pattern FORM = Pattern.compile("(\\d+)\\s*([KMGT]i?B|B)?", Pattern.CASE_INSENSITIVE);

    @Override
    public Long convert(String text) {
        Matcher m = FORM.matcher(text.strip());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + text + "' is not a size (expected: a number with an optional unit: "
                    + "B, KiB, MiB, GiB, TiB (powers of two) or KB, MB, GB, TB (powers of ten), e.g. 512MiB)");
        }
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        int power = "BKMGT".indexOf(unit.charAt(0));
        long base = unit.length() == 3 ? 1024 : 1000;
        long factor = 1;
        for (int i = 0; i < power; i++) {
            factor *= base;
        }
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new CommandLine.TypeConversionException("'" + text + "' is too large a size");
        }
    }
}
