package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The first SIGTERM's behaviour: no new work, in-flight work finishes, the control plane is told. */
class DrainIT {
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void drainingRefusesNewWorkLetsInFlightWorkFinishAndTellsTheControlPlane() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        Duration t = Duration.ofSeconds(30);
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("drain-box").build(), t);
        // Its first output proves the exec runs. (A count of commands in flight did not: the provision's
        // command is still counted for a moment after its result went back, and a drain begun then refused the exec.)
        CompletableFuture<Void> started = new CompletableFuture<>();
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(() -> fx.cp.agents().exec(fx.agentId,
                StartExec.newBuilder().setSandboxId("drain-box").addAllArgv(List.of("sh", "-c", "echo started; sleep 1; echo done")).build(),
                null, c -> started.complete(null), t));
        started.get(10, TimeUnit.SECONDS);
        assertTrue(fx.daemon.commandsInFlight() > 0, "the exec is in flight");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Thread drainer = Thread.ofVirtual().start(() -> fx.daemon.drain("test"));
        while (fx.cp.registry().agent(fx.agentId).orElseThrow().drainNotice() == null) {
            assertTrue(System.nanoTime() < deadline, "the control plane is told about the drain");
            Thread.sleep(20);
        }
        CommandFailedException refused = assertThrows(CommandFailedException.class,
                () -> fx.cp.agents().list(fx.agentId, Duration.ofSeconds(5)));
        assertEquals(ErrorCode.DRAINING, refused.error().getCode());
        assertEquals(0, running.get().getExitCode(), "in-flight exec finished");
        drainer.join(Duration.ofSeconds(15));
        assertTrue(fx.daemon.sandboxes().find("drain-box").isPresent(), "sandboxes outlive the daemon");
    }
}
