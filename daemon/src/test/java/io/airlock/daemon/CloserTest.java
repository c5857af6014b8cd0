package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CloserTest {
    @Test
    void closesInReverseOrderOnceAndGoesOnPastAFailure() {
        List<String> closed = new ArrayList<>();
        Closer closer = new Closer();
        closer.onClose("audit", () -> closed.add("audit"));
        AutoCloseable drivers = () -> closed.add("drivers");
        closer.add("drivers", drivers);
        assertNull(closer.add("reaper", (AutoCloseable) null), "a stage that is off is skipped");
        closer.onClose("worker", () -> {
            closed.add("worker");
            throw new IllegalStateException("stuck");
        });
        closer.onClose("admin", () -> closed.add("admin"));
        closer.close();
        closer.close();
        assertEquals(List.of("admin", "worker", "drivers", "audit"), closed);
    }
}
