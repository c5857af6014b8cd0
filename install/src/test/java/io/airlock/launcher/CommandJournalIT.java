package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17.8: exactly once across restarts. A side-effecting exec runs, the daemon is
 * SIGKILLed mid-run, the control plane re-sends the command when the new daemon connects: it
 * gets OUTCOME_UNKNOWN, and the effect happened once.
 */
class CommandJournalIT {
    static final Duration T = Duration.ofSeconds(120);
    @TempDir
    Path dir;
    ControlPlaneServer cp;
    DaemonProcess daemon;

    @AfterEach
    void stop() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
        if (cp != null) {
            cp.close();
        }
    }

    @Test
    void aCommandResentAfterTheAgentWasKilledMidRunIsNotRunTwice() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0));
        String agentId = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), dir.resolve("agent"), "once")
                .agentId();
        Path config = dir.resolve("airlock.yaml");
        Files.writeString(config, """
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                control_plane: {ping_interval: 500ms, ping_timeout: 2s, backoff: {initial: 100ms, max: 1s}}
                """.formatted(dir.resolve("agent")));
        daemon = DaemonProcess.start(config, dir.resolve("daemon.log"));
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, T), "connected; log: " + daemon.log());
        cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("once-box").build(), T);

        CompletableFuture<ExecResult> exec = CompletableFuture.supplyAsync(() -> cp.agents().exec(agentId,
                StartExec.newBuilder().setSandboxId("once-box").addAllArgv(List.of("sh", "-c", "echo ran >> effects; sleep 600")).build(),
                null, c -> { }, T));
        Path effects = dir.resolve("agent/drivers/bubblewrap/sandboxes/once-box/workspace/effects");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(effects) || Files.size(effects) == 0) {
            assertTrue(System.nanoTime() < deadline, "the exec did not start; log: " + daemon.log());
            Thread.sleep(20);
        }
        daemon.kill();
        daemon = DaemonProcess.start(config, dir.resolve("daemon-2.log"));

        // The control plane re-sends the pending exec when the agent connects again.
        ExecutionException failed = assertThrows(ExecutionException.class, () -> exec.get(60, TimeUnit.SECONDS), "log: " + daemon.log());
        CommandFailedException e = assertInstanceOf(CommandFailedException.class, failed.getCause());
        assertEquals(ErrorCode.OUTCOME_UNKNOWN, e.error().getCode(), e.getMessage());
        assertTrue(e.getMessage().contains("was running when the agent restarted") && e.getMessage().contains("not run again"), e.getMessage());

        ExecResult count = cp.agents().exec(agentId, StartExec.newBuilder().setSandboxId("once-box")
                .addAllArgv(List.of("sh", "-c", "exit $(wc -l < effects)")).build(), null, c -> { }, T);
        assertEquals(1, count.getExitCode(), "the effect happened once");
    }
}
