package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** policy.idle_timeout and policy.max_lifetime, through the control plane, on real bubblewrap sandboxes. */
class ReaperIT {
    static final Duration T = Duration.ofSeconds(30);
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        fx.close();
    }

    private void start(String policy) throws Exception {
        fx = new AgentFixture(dir) {
            @Override
            DaemonConfig config(String address) throws Exception {
                DaemonConfig base = super.config(address);
                DaemonConfig.Policy p = ConfigLoader.parse("policy: " + policy, "test").policy();
                return new DaemonConfig(base.stateDir(), base.controlPlane(), base.drivers(), p, base.drain());
            }
        }.enrollAndStart();
    }

    /** Waits until the sandbox is gone and the control plane has the event saying why. */
    private void awaitReaped(String id, String rule, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (fx.daemon.sandboxes().find(id).isPresent() || fx.cp.registry().events(fx.agentId).stream()
                .noneMatch(e -> e.detail().contains(id + " DESTROYED") && e.detail().contains(rule))) {
            assertTrue(System.nanoTime() < deadline, id + " was not reaped (with an event naming " + rule + ") within " + max
                    + "; events: " + fx.cp.registry().events(fx.agentId));
            Thread.sleep(50);
        }
    }

    @Test
    void anIdleSandboxIsReapedButNotWhileACommandRunsInIt() throws Exception {
        start("{idle_timeout: 1s}");
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("busy").build(), T);
        var exec = fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("busy").addAllArgv(List.of("sleep", "2.5")).build(),
                null, c -> { }, T);
        assertEquals(0, exec.getExitCode(), "a command running past the idle timeout keeps its sandbox");
        awaitReaped("busy", "policy.idle_timeout (1s)", Duration.ofSeconds(10));
    }

    @Test
    void aSandboxPastItsLifetimeIsReaped() throws Exception {
        start("{max_lifetime: 1s}");
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("old").build(), T);
        awaitReaped("old", "policy.max_lifetime (1s)", Duration.ofSeconds(10));
    }
}
