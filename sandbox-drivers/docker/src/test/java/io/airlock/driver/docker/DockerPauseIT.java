package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.OutputChunk;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pause and resume on the real engine: frozen processes, refused execs, adoption as PAUSED. */
class DockerPauseIT {
    @TempDir
    Path state;

    @Test
    void aPausedSandboxRefusesExecsKeepsItsProcessesAndResumes() throws Exception {
        String image = TestEngine.image();
        DriverContext ctx = new DriverContext("pause-" + System.nanoTime(), state, Map.of("image", image));
        SandboxDriver driver = new DockerDriverProvider().create(ctx);
        try {
            driver.provision(new SandboxSpec("frozen", ResourceLimits.NONE, Map.of(), Map.of()));
            // A background process that will still be there after the freeze.
            assertEquals(0, run(driver, "frozen", "sleep 300 > /dev/null 2>&1 & echo $! > /tmp/bg").exitCode());

            assertEquals(SandboxState.PAUSED, driver.pause("frozen").state());
            assertEquals(SandboxState.PAUSED, driver.pause("frozen").state(), "pause is idempotent");
            DriverException refused = assertThrows(DriverException.class, () -> driver.start("frozen", ExecSpec.of("true")));
            assertEquals(DriverException.Kind.FAILED_PRECONDITION, refused.kind());
            assertTrue(refused.getMessage().contains("paused"), refused.getMessage());

            driver.close();
            SandboxDriver adopted = new DockerDriverProvider().create(ctx);
            try {
                assertEquals(SandboxState.PAUSED, adopted.get("frozen").orElseThrow().state(), "adopted as paused, not thawed");
                assertEquals(SandboxState.READY, adopted.resume("frozen").state());
                List<OutputChunk> out = new CopyOnWriteArrayList<>();
                var o = Execution.start(adopted, "frozen", ExecSpec.of("sh", "-c", "kill -0 $(cat /tmp/bg) && echo alive"), out::add)
                        .await(Duration.ofSeconds(30));
                assertEquals(0, o.exitCode());
                assertEquals("alive\n", new String(out.get(0).data(), StandardCharsets.UTF_8), "the process survived the freeze");
            } finally {
                adopted.destroy("frozen");
                adopted.close();
            }
        } finally {
            driver.close();
        }
    }

    private static io.airlock.driver.ExecOutcome run(SandboxDriver d, String box, String script) throws Exception {
        return Execution.start(d, box, ExecSpec.of("sh", "-c", script), c -> { }).await(Duration.ofSeconds(30));
    }
}
