package io.airlock.notation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class NotationTest {
    @Test
    void durationsReadAndWriteAsOperatorsDo() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse(" 10 s "));
        assertEquals(Duration.ofDays(2), Durations.parse("2d"));
        assertEquals("5m", Durations.format(Duration.ofMinutes(5)));
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
        String why = assertThrows(IllegalArgumentException.class, () -> Durations.parse("soon")).getMessage();
        assertTrue(why.startsWith("'soon' is not a duration (expected: a number and a unit"), why);
    }

    @Test
    void sizesInPowersOfTwoOrTenAnyCase() {
        assertEquals(512, Sizes.parse("512"));
        assertEquals(64 << 10, Sizes.parse("64KiB"));
        assertEquals(16L << 20, Sizes.parse("16mib"));
        assertEquals(2_000_000_000L, Sizes.parse("2GB"));
        assertEquals(1L << 40, Sizes.parse("1TiB"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sizes.parse("lots")).getMessage().contains("is not a size"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Sizes.parse("99999999TB")).getMessage().contains("too large"));
    }
}
