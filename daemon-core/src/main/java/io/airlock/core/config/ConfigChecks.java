package io.airlock.core.config;

import java.time.Duration;

/** Checks the configuration's records share. */
final class ConfigChecks {
    private ConfigChecks() {}

    /** {@code value}, or {@code fallback} when unset; refused naming {@code field} unless positive. */
    static Duration positive(String field, Duration value, Duration fallback) {
        Duration d = value == null ? fallback : value;
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(field + ": " + d + " (expected: > 0)");
        }
        return d;
    }
}
