package io.airlock.core.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigLoader;
import io.airlock.driver.ResourceLimits;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reaper on a fake clock: a sandbox without an owner is destroyed; one with an owner is handed to it first. */
class SandboxReaperTest {
    @TempDir
    Path dir;

    private static final class FakeClock extends Clock {
        volatile Instant now = Instant.now();

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void anOwnedSandboxIsHandedToItsOwnerFirstAndDestroyedOnlyIfItIsStillThereAfterTheGrace() throws Exception {
        var config = ConfigLoader.parse("state_dir: " + dir + "\n", "test");
        List<String> destroyed = new ArrayList<>();
        SandboxService sandboxes = new SandboxService(DriverRegistry.of(List.of(new MemoryDriver())), new LocalPolicy(config.policy()),
                (s, state, why) -> destroyed.add(s.id() + ": " + why));
        sandboxes.provision("owned", "memory", "", ResourceLimits.NONE, Map.of(), Map.of());
        sandboxes.provision("plain", "memory", "", ResourceLimits.NONE, Map.of(), Map.of());
        List<String> asked = new ArrayList<>();
        sandboxes.onReap("owned", asked::add);
        FakeClock clock = new FakeClock();
        try (SandboxReaper reaper = new SandboxReaper(sandboxes, Duration.ofHours(1), null, clock)) {
            clock.now = Instant.now().plus(Duration.ofHours(1)).plusSeconds(1);
            reaper.sweep();
            assertEquals(List.of("reaped: older than policy.max_lifetime (1h)"), asked, "the owner is asked, with the reason");
            assertTrue(destroyed.stream().anyMatch(d -> d.startsWith("plain: reaped")), "a sandbox nobody owns is destroyed: " + destroyed);
            assertTrue(sandboxes.find("owned").isPresent(), "the owned one is left to its owner");
            reaper.sweep();
            assertEquals(1, asked.size(), "asked once");
            clock.now = clock.now.plus(SandboxReaper.OWNER_GRACE).plusSeconds(1);
            reaper.sweep();
            assertTrue(sandboxes.find("owned").isEmpty(), "an owner that did not end it in time does not keep it: " + destroyed);
        }
    }
}
