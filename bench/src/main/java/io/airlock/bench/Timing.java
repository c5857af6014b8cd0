package io.airlock.bench;

import java.util.Arrays;

/** Timing and summary statistics shared by the benchmarks. */
final class Timing {
    private Timing() {}

    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    /** Nanoseconds {@code body} took. */
    static long time(Body body) throws Exception {
        long start = System.nanoTime();
        body.run();
        return System.nanoTime() - start;
    }

    /** The {@code q} quantile (0..1) of nanosecond samples, in milliseconds. */
    static double quantileMs(long[] samples, double q) {
        long[] s = samples.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) (s.length * q))] / 1e6;
    }

    static double meanMs(long[] samples) {
        return Arrays.stream(samples).average().orElse(0) / 1e6;
    }
}
