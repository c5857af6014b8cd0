package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecRun;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.SandboxState;
import io.airlock.driver.Snapshot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot a running sandbox to a local image, provision from it, and manage snapshots, on the real engine. */
class DockerSnapshotIT {
    @TempDir
    Path state;

    @Test
    void aSnapshotCarriesTheWorkspaceIntoNewSandboxes() throws Exception {
        String image = TestEngine.image();
        SandboxDriver driver = new DockerDriverProvider().create(new DriverContext("snap-" + System.nanoTime() % 100000, state,
                Map.of("image", image)));
        try {
            driver.provision(new SandboxSpec("orig", ResourceLimits.NONE, Map.of(), Map.of("team", "a")));
            try (FileUpload up = driver.openWrite("orig", "data/notes.txt", 0600)) {
                up.write("before the snapshot\n".getBytes(StandardCharsets.UTF_8));
            }
            assertEquals(0, ExecRun.sh(driver, "orig", "ln -s data/notes.txt link && sleep 300 > /dev/null 2>&1 & echo $! > /tmp/bg")
                    .outcome().exitCode());

            Snapshot snap = driver.snapshot("orig", "snap1");
            assertEquals("snap1", snap.name());
            assertEquals("orig", snap.sourceSandboxId());
            assertTrue(snap.sizeBytes() > 0, snap.toString());
            assertEquals(SandboxState.READY, driver.get("orig").orElseThrow().state(), "thawed again after the copy");
            assertEquals(0, ExecRun.sh(driver, "orig", "kill -0 $(cat /tmp/bg) && echo changed > data/notes.txt").outcome().exitCode(),
                    "the sandbox's processes survive the snapshot");

            driver.provision(new SandboxSpec("clone", ResourceLimits.NONE, Map.of(), Map.of(), "snapshot:snap1"));
            ExecRun check = ExecRun.sh(driver, "clone", "cat data/notes.txt && readlink link && stat -c '%u %a' data/notes.txt"
                    + " && touch data/new && id -u && (touch /rootfs-write 2>/dev/null && echo root-writable || echo root-read-only)");
            assertEquals(0, check.outcome().exitCode(), check.stderr());
            List<String> lines = List.of(check.stdout().split("\n"));
            assertEquals("before the snapshot", lines.get(0), "the clone has the workspace as it was at the snapshot");
            assertEquals("data/notes.txt", lines.get(1));
            assertEquals(lines.get(3) + " 600", lines.get(2), "owned by the sandbox user, mode kept");
            assertEquals("root-read-only", lines.get(4), "a clone is hardened like any sandbox");

            assertEquals(List.of("snap1"), driver.snapshots().stream().map(Snapshot::name).toList());
            DriverException taken = assertThrows(DriverException.class, () -> driver.snapshot("orig", "snap1"));
            assertEquals(DriverException.Kind.FAILED_PRECONDITION, taken.kind());
            DriverException inUse = assertThrows(DriverException.class, () -> driver.deleteSnapshot("snap1"));
            assertEquals(DriverException.Kind.FAILED_PRECONDITION, inUse.kind());
            assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());

            driver.destroy("clone");
            driver.deleteSnapshot("snap1");
            driver.deleteSnapshot("snap1");
            assertEquals(List.of(), driver.snapshots());
            DriverException gone = assertThrows(DriverException.class,
                    () -> driver.provision(new SandboxSpec("clone2", ResourceLimits.NONE, Map.of(), Map.of(), "snapshot:snap1")));
            assertEquals(DriverException.Kind.NOT_FOUND, gone.kind());
            DriverException badName = assertThrows(DriverException.class, () -> driver.snapshot("orig", "Bad Name"));
            assertEquals(DriverException.Kind.INVALID_ARGUMENT, badName.kind());
            assertTrue(badName.getMessage().contains("expected"), badName.getMessage());
        } finally {
            driver.destroy("clone");
            driver.destroy("orig");
            driver.deleteSnapshot("snap1");
            driver.close();
        }
    }
}
