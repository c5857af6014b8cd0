package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverEvent;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecRun;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The container hardening, checked from inside running containers on the real engine. */
class DockerHardeningIT {
    static String image;
    @TempDir
    Path state;
    SandboxDriver driver;
    final List<DriverEvent> events = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void requireEngine() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        try (var docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null)) {
            image = BusyboxImage.ensure(docker);
        }
    }

    @BeforeEach
    void open() throws Exception {
        driver = new DockerDriverProvider().create(new DriverContext("hardening-" + System.nanoTime(), state, Map.of("image", image),
                events::add));
    }

    @AfterEach
    void close() throws Exception {
        for (var s : driver.list()) {
            driver.destroy(s.id());
        }
        driver.close();
    }

    ExecRun run(String box, String script) throws Exception {
        return ExecRun.sh(driver, box, script);
    }

    @Test
    void noCapabilitiesNoNewPrivilegesSeccompReadOnlyRootNonRootNoNetwork() throws Exception {
        driver.provision(new SandboxSpec("hard", ResourceLimits.NONE, Map.of(), Map.of()));
        ExecRun r = run("hard", "id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
                + "touch /rootfs-write 2>/dev/null && echo ROOT-WRITABLE; touch /workspace/ok && echo WORKSPACE-WRITABLE; "
                + "touch /tmp/ok && echo TMP-WRITABLE; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        assertEquals(0, r.outcome().exitCode(), r.stderr());
        String out = r.stdout();
        assertTrue(out.startsWith("1000\n"), out);
        assertTrue(out.contains("CapEff:\t0000000000000000"), out);
        assertTrue(out.contains("NoNewPrivs:\t1"), out);
        assertTrue(out.contains("Seccomp:\t2"), "the engine's default seccomp filter applies: " + out);
        assertFalse(out.contains("ROOT-WRITABLE"), "the root filesystem is read-only");
        assertTrue(out.contains("WORKSPACE-WRITABLE") && out.contains("TMP-WRITABLE"), out);
        assertTrue(out.endsWith("lo\n"), "only loopback: " + out);
    }

    @Test
    void aForkLoopIsStoppedByThePidsLimit() throws Exception {
        driver.provision(new SandboxSpec("forks", new ResourceLimits(0, 16, 0), Map.of(), Map.of()));
        ExecRun r = run("forks", "for i in $(seq 64); do sleep 2 & done; wait; echo done");
        assertTrue(r.stderr().toLowerCase().contains("fork"), "forks past the pids limit fail: " + r.stderr());
    }

    @Test
    void aMemoryHogIsKilledByTheMemoryLimitAndTheOomIsReported() throws Exception {
        driver.provision(new SandboxSpec("hog", new ResourceLimits(64L << 20, 0, 0), Map.of(), Map.of()));
        ExecRun r = run("hog", "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo ${#x}");
        assertNotEquals(0, r.outcome().exitCode(), "the hog must not survive: " + r.stderr());
        assertFalse(r.stdout().contains("300000000"), "it never got its 300 MB");
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (events.stream().noneMatch(e -> e.sandboxId().equals("hog") && e.kind() == DriverEvent.Kind.OOM_KILL)) {
            assertTrue(System.nanoTime() < deadline, "an OOM_KILL event for the sandbox; got " + events);
            Thread.sleep(50);
        }
    }

    @Test
    void aWorkspaceLimitStopsWritesPastItFromProcessesAndUploads() throws Exception {
        driver.provision(new SandboxSpec("small", new ResourceLimits(256L << 20, 0, 0, 1L << 20), Map.of(), Map.of()));
        ExecRun fits = run("small", "head -c 500000 /dev/zero > half && ls -n half | awk '{print $3, $5}'");
        assertEquals(0, fits.outcome().exitCode(), fits.stderr());
        assertEquals("1000 500000\n", fits.stdout(), "the sandbox user writes its workspace");
        try (var up = driver.openWrite("small", "fits.txt", 0644)) {
            up.write("uploads land in the limited workspace\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        assertEquals("uploads land in the limited workspace\n", run("small", "cat fits.txt").stdout());
        ExecRun tooBig = run("small", "head -c 2000000 /dev/zero > big; echo rc=$?; ls -n big | awk '{print $5}'; df -k . | tail -1");
        assertTrue(tooBig.stdout().startsWith("rc=1\n"), "the write fails: " + tooBig.stdout() + tooBig.stderr());
        long written = Long.parseLong(tooBig.stdout().split("\n")[1]);
        assertTrue(written < 1L << 20, "no more than the limit was written: " + written);
        assertTrue(tooBig.stdout().contains("tmpfs"), "a size-limited filesystem: " + tooBig.stdout());
        java.io.IOException upload = assertThrows(java.io.IOException.class, () -> {
            try (var up = driver.openWrite("small", "upload.bin", 0644)) {
                up.write(new byte[2_000_000]);
            }
        });
        assertTrue(upload.getMessage().contains("no space left"), upload.getMessage());
        assertEquals(new ResourceLimits(256L << 20, 0, 0, 1L << 20), driver.get("small").orElseThrow().limits());
    }
}
