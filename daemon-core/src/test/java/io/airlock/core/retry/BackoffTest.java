package io.airlock.core.retry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void ceilingsGrowToTheCapWithoutOverflow() {
        Backoff retry = Backoff.doubling(Duration.ofSeconds(1), Duration.ofSeconds(30));
        assertEquals(1_000, retry.ceilingMs(0));
        assertEquals(16_000, retry.ceilingMs(4));
        assertEquals(30_000, retry.ceilingMs(5));
        assertEquals(30_000, retry.ceilingMs(1_000), "no overflow, however many attempts");
        assertEquals(1_000, retry.ceilingMs(-3), "a negative attempt is the first");
        Backoff slow = new Backoff(100, 1_000, 1.5, 0);
        assertEquals(150, slow.ceilingMs(1));
        assertEquals(225, slow.delayMs(2, new SplittableRandom(1)), "no jitter: the ceiling itself");
    }

    @Test
    void delaysAreDrawnWithinTheJitterBelowTheCeiling() {
        Backoff equal = Backoff.doubling(Duration.ofMillis(250), Duration.ofSeconds(10));
        Backoff fifth = new Backoff(1_000, 60_000, 2.0, 0.2);
        SplittableRandom random = new SplittableRandom(7);
        long lowest = Long.MAX_VALUE;
        for (int i = 0; i < 500; i++) {
            int attempt = i % 8;
            long d = equal.delayMs(attempt, random);
            long ceiling = equal.ceilingMs(attempt);
            assertTrue(d >= ceiling / 2 && d <= ceiling, d + " within [" + ceiling / 2 + ", " + ceiling + "]");
            long f = fifth.delayMs(10, random);
            assertTrue(f >= 48_000 && f <= 60_000, f + " within [48000, 60000]: never above max");
            lowest = Math.min(lowest, f);
        }
        assertTrue(lowest < 50_000, "the draw spreads: lowest " + lowest);
    }

    @Test
    void badSettingsAreRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Backoff(10, 5, 2, 0.1)).getMessage().contains("initial <= max"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Backoff(1, 5, 0.5, 0.1)).getMessage().contains("multiplier"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Backoff(1, 5, 2, 1.5)).getMessage().contains("jitter"));
    }
}
