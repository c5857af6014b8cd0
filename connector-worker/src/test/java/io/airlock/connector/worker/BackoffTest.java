package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BackoffTest {
    @Test
    void delaysDoubleToTheCapAndAreDrawnBetweenHalfAndAllOfIt() {
        assertEquals(1_000, Backoff.RETRY.ceilingMs(0));
        assertEquals(16_000, Backoff.RETRY.ceilingMs(4));
        assertEquals(30_000, Backoff.RETRY.ceilingMs(5));
        assertEquals(30_000, Backoff.RETRY.ceilingMs(1_000), "no overflow, however many attempts");
        assertEquals(2_000, Backoff.POLL.ceilingMs(1), "the SDK's poller: the first failure waits 2 s");
        assertEquals(60_000, Backoff.POLL.ceilingMs(6));
        SplittableRandom random = new SplittableRandom(7);
        for (int attempt = 0; attempt < 50; attempt++) {
            long d = Backoff.STREAM.delayMs(attempt % 8, random);
            long ceiling = Backoff.STREAM.ceilingMs(attempt % 8);
            assertTrue(d >= ceiling / 2 && d <= ceiling, d + " within [" + ceiling / 2 + ", " + ceiling + "]");
        }
    }
}
