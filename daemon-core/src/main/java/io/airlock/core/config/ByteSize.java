package io.airlock.core.config;

import io.airlock.notation.Sizes;

/** A byte count written as {@code 512}, {@code 64KiB}, {@code 16MiB}, {@code 4GiB} (also KB/MB/GB, powers of ten). */
public record ByteSize(long bytes) {
    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException(bytes + " (expected: >= 0)");
        }
    }

    /** A size as operators write it ({@link Sizes}); refused, naming what was expected, otherwise. */
    public static ByteSize parse(String text) {
        return new ByteSize(Sizes.parse(text));
    }
}
