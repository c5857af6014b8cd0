package io.airlock.driver.bubblewrap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Capability;
import io.airlock.driver.DriverContext;
import io.airlock.driver.ExecRun;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What bubblewrap sandboxes must not be able to do, checked from inside real ones. */
class BubblewrapIsolationIT {
    @TempDir
    Path state;
    SandboxDriver driver;

    @BeforeEach
    void open() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        driver = new BubblewrapDriverProvider().create(new DriverContext("isolation-agent", state, Map.of()));
    }

    @AfterEach
    void close() throws Exception {
        for (var s : driver.list()) {
            driver.destroy(s.id());
        }
        driver.close();
    }

    ExecRun run(String box, ExecSpec spec) throws Exception {
        return ExecRun.of(driver, box, spec, null);
    }

    @Test
    void hasNoNetworkButLoopbackAndCannotReachTheHost() throws Exception {
        driver.provision(new SandboxSpec("net", ResourceLimits.NONE, Map.of(), Map.of()));
        ExecRun ifaces = run("net", ExecSpec.of("sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"));
        assertEquals("lo\n", ifaces.stdout(), "only a loopback interface exists inside");
        try (ServerSocket host = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            host.setSoTimeout(1);
            AtomicBoolean reached = new AtomicBoolean();
            Thread watcher = Thread.ofVirtual().start(() -> {
                try {
                    host.setSoTimeout(5000);
                    host.accept().close();
                    reached.set(true);
                } catch (SocketTimeoutException e) {
                    // expected: nobody came
                } catch (Exception e) {
                    // closed
                }
            });
            ExecRun dial = run("net", ExecSpec.of("perl", "-MIO::Socket::INET", "-e",
                    "exit(IO::Socket::INET->new(PeerAddr => '127.0.0.1:" + host.getLocalPort() + "', Timeout => 2) ? 0 : 7)"));
            assertEquals(7, dial.outcome().exitCode(), "the host's loopback server is unreachable: " + dial.stderr());
            watcher.join(Duration.ofSeconds(6));
            assertFalse(reached.get(), "no connection reached the host");
        }
    }

    @Test
    void runsAsAnUnprivilegedUserWithoutCapabilitiesAndSeesNoHostSecrets() throws Exception {
        driver.provision(new SandboxSpec("priv", ResourceLimits.NONE, Map.of(), Map.of()));
        ExecRun r = run("priv", ExecSpec.of("sh", "-c", "id -u; grep CapEff /proc/self/status; ls /etc; test -e /etc/shadow && echo SHADOW; test -w /usr && echo USR-WRITABLE; true"));
        assertTrue(r.stdout().startsWith("1000\n"), r.stdout());
        assertTrue(r.stdout().contains("CapEff:\t0000000000000000"), r.stdout());
        assertFalse(r.stdout().contains("SHADOW"), "host /etc/shadow is not visible");
        assertFalse(r.stdout().contains("USR-WRITABLE"), "host /usr is read-only");
    }

    @Test
    void pauseIsRefusedAsUnimplemented() throws Exception {
        driver.provision(new SandboxSpec("nopause", ResourceLimits.NONE, Map.of(), Map.of()));
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.airlock.driver.DriverException.class, () -> driver.pause("nopause"));
        assertEquals(io.airlock.driver.DriverException.Kind.UNIMPLEMENTED, e.kind());
    }

    @Test
    void aProcessLimitStopsAForkBomb() throws Exception {
        Prerequisites.require("a writable pids cgroup", driver.capabilities().contains(Capability.LIMITS_PROCESSES) ? Optional.empty()
                : Optional.of("the daemon cannot create cgroups under /sys/fs/cgroup on this host"));
        driver.provision(new SandboxSpec("forks", new ResourceLimits(0, 16, 0), Map.of(), Map.of()));
        ExecRun r = run("forks", ExecSpec.of("sh", "-c", "n=0; for i in $(seq 64); do sleep 2 & n=$((n+1)); done; wait; echo started $n")
                .withTimeout(Duration.ofSeconds(30)));
        assertTrue(r.stderr().toLowerCase().contains("fork"), "forks past pids.max fail: " + r.stderr());
    }

    @Test
    void aMemoryHogIsStoppedByTheMemoryLimit() throws Exception {
        driver.provision(new SandboxSpec("hog", new ResourceLimits(64L << 20, 0, 0), Map.of(), Map.of()));
        ExecRun r = run("hog", ExecSpec.of("perl", "-e", "my $x = 'a' x (400 * 1024 * 1024); print length($x), qq(\\n);"));
        assertNotEquals(0, r.outcome().exitCode(), "the hog must not survive: " + r.stderr());
        assertFalse(r.stdout().contains("419430400"), "it never got its 400 MiB");
    }
}
