package io.airlock.core.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigLoader;
import io.airlock.driver.DriverException;
import io.airlock.driver.ResourceLimits;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Volumes through the core: a driver that cannot give them refuses, never leaves them out. */
class SandboxVolumesTest {
    @TempDir
    Path dir;

    private SandboxService service() throws Exception {
        var config = ConfigLoader.parse("state_dir: " + dir + "\n", "test");
        return new SandboxService(DriverRegistry.of(List.of(new MemoryDriver())), new LocalPolicy(config.policy()), (s, state, why) -> { });
    }

    @Test
    void aDriverWithoutTheCapabilityRefusesVolumesAndMakesNothing() throws Exception {
        SandboxService sandboxes = service();
        DriverException e = assertThrows(DriverException.class, () -> sandboxes.provision("v1", "memory", "", "", ResourceLimits.NONE,
                Map.of(), Map.of(), List.of(), List.of(), List.of("/mnt/memory/notes")));
        assertEquals(DriverException.Kind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("'volumes' capability"), e.getMessage());
        assertTrue(sandboxes.find("v1").isEmpty(), "no sandbox without its volumes");
    }
}
