package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.Drain;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.Reconnect;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.StartExec;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Losing the control plane, getting it back, and not doing anything twice. */
class ReconnectIT {
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    @Test
    void afterAControlPlaneRestartTheDaemonReconnectsReReportsSandboxesAndARepeatedCommandCreatesNothing() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        Command provision = AgentClient.command(Duration.ofSeconds(30))
                .setCommandId("cmd-provision-1")
                .setProvision(ProvisionSandbox.newBuilder().setSandboxId("box-1"))
                .build();
        SandboxInfo first = fx.cp.agents().send(fx.agentId, provision).getSandbox();

        fx.stopControlPlane();
        assertTrue(fx.awaitEvent("disconnected", Duration.ofSeconds(10)).startsWith("disconnected"));
        fx.startControlPlane();
        fx.awaitEvent("connected", Duration.ofSeconds(20));
        assertTrue(fx.cp.registry().awaitConnected(fx.agentId,
                        h -> h.getInventoryList().stream().anyMatch(s -> s.getSandboxId().equals("box-1")), Duration.ofSeconds(10)),
                "the new control plane learns of box-1 from the Hello inventory");

        // The same command id again, even with a changed payload, returns the first result.
        Command repeated = provision.toBuilder()
                .setDeadlineMs(System.currentTimeMillis() + 30_000)
                .setProvision(ProvisionSandbox.newBuilder().setSandboxId("box-2"))
                .build();
        CommandResult again = fx.cp.agents().send(fx.agentId, repeated);
        assertEquals(first, again.getSandbox());
        assertEquals(1, fx.daemon.sandboxes().list().size(), "no second sandbox");
        assertEquals(1, fx.cp.agents().list(fx.agentId, Duration.ofSeconds(10)).getSandboxesCount());
    }

    @Test
    void aLinkThatSilentlyDropsTrafficIsDetectedByThePingDeadline() throws Exception {
        fx = new AgentFixture(dir);
        try (BlackholeRelay relay = new BlackholeRelay(fx.port)) {
            fx.enrollAndStart("127.0.0.1:" + relay.port());
            relay.blackhole(true);
            // ping_interval 300ms + ping_timeout 700ms: the bound below leaves room for a slow CI machine.
            String lost = fx.awaitEvent("disconnected", Duration.ofSeconds(5));
            assertTrue(lost.contains("no Pong within ping_timeout"), lost);
            relay.blackhole(false);
            fx.awaitEvent("connected", Duration.ofSeconds(20));
            assertTrue(fx.daemon.isConnected());
        }
    }

    @Test
    void reconnectFromTheServerMakesTheDaemonReconnectAtOnce() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        assertTrue(fx.cp.registry().sendToAgent(fx.agentId, ControlPlaneMessage.newBuilder()
                .setReconnect(Reconnect.newBuilder().setReason("rebalancing")).build()));
        String lost = fx.awaitEvent("disconnected", Duration.ofSeconds(10));
        assertTrue(lost.contains("asked to reconnect: rebalancing"), lost);
        fx.awaitEvent("connected", Duration.ofSeconds(10));
    }

    @Test
    void aServerDrainLetsInFlightCommandsFinishThenTheDaemonReconnects() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        Duration t = Duration.ofSeconds(30);
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("drained").build(), t);
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(() -> fx.cp.agents().exec(fx.agentId,
                StartExec.newBuilder().setSandboxId("drained").addAllArgv(List.of("sleep", "1")).build(), null, c -> { }, t));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (fx.daemon.commandsInFlight() == 0) {
            assertTrue(System.nanoTime() < deadline, "exec did not start");
            Thread.sleep(10);
        }
        assertTrue(fx.cp.registry().sendToAgent(fx.agentId, ControlPlaneMessage.newBuilder()
                .setDrain(Drain.newBuilder().setReason("replica shutting down")).build()));
        String lost = fx.awaitEvent("disconnected", Duration.ofSeconds(10));
        assertTrue(lost.contains("drained this connection"), lost);
        assertEquals(0, fx.daemon.commandsInFlight(), "the daemon left only once its in-flight exec was done");
        fx.awaitEvent("connected", Duration.ofSeconds(10));
        assertEquals(0, running.get(30, TimeUnit.SECONDS).getExitCode());
    }

    @Test
    void theDaemonSurvivesAControlPlaneThatIsDownWhenItStarts() throws Exception {
        fx = new AgentFixture(dir);
        String token = fx.cp.createJoinToken(Duration.ofMinutes(5)).encode();
        fx.agentId = new io.airlock.connector.grpc.identity.Enroller(java.time.Clock.systemUTC()).enroll(token, dir.resolve("agent"), "late").agentId();
        fx.stopControlPlane();
        fx.daemon = Daemon.start(fx.config(""), new io.airlock.connector.grpc.ConnectionListener() {
            @Override
            public void connected(String sessionId) {
                fx.connections.offer("connected");
            }
        });
        Thread.sleep(500);
        fx.startControlPlane();
        fx.awaitEvent("connected", Duration.ofSeconds(20));
    }
}
