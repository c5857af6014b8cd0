package io.airlock.controlplane.cli;

import io.airlock.notation.Sizes;
import picocli.CommandLine;

/** A byte count as the agent's configuration writes sizes ({@code 512MiB}, {@code 2GB}, {@code 1048576}), for options such as {@code --memory}. */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String text) {
        try {
            return Sizes.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
