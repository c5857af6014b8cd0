package io.airlock.connector.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.audit.AuditLog;
import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.LocalPolicy;
import io.airlock.core.sandbox.MemoryDriver;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.core.work.AgentEvents;
import io.airlock.core.work.WorkJournal;
import io.airlock.core.work.WorkRunner;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.ListSandboxes;
import io.airlock.proto.v1.Ping;
import io.airlock.proto.v1.Pong;
import io.airlock.proto.v1.Welcome;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that takes 2 s for every fsync must not slow the Control stream: the control plane's
 * pings are answered on time and the link stays up while commands wait for their audit records.
 * The real work runner, audit log and session run over real gRPC (in-process: no sockets); only
 * the audit log's sink is slowed, as a stalled disk would (each append holds the log for 2 s).
 */
class SlowAuditSinkTest {
    private static final long FSYNC_MS = 2_000;

    @TempDir
    Path dir;

    private Server server;
    private GrpcConnector connector;
    private AuditLog log;
    private WorkJournal journal;

    /** The audit log with every append stalled as a slow fsync would stall it (under the log's lock). */
    private record SlowTrail(AuditLog log) implements AuditTrail {
        @Override
        public void append(String type, Map<String, ?> fields) {
            synchronized (log) {
                try {
                    Thread.sleep(FSYNC_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                log.append(type, fields);
            }
        }

        @Override
        public String hashed(String value) {
            return log.hashed(value);
        }

        @Override
        public boolean isClosed() {
            return log.isClosed();
        }
    }

    /** A control plane that welcomes, answers the agent's pings, and keeps when each of its own pings got its pong. */
    private static final class PingingControlPlane extends AgentGatewayGrpc.AgentGatewayImplBase {
        final CountDownLatch welcomed = new CountDownLatch(1);
        final Map<Long, Long> pingSentNanos = new ConcurrentHashMap<>();
        final BlockingQueue<Long> pongDelaysMs = new LinkedBlockingQueue<>();
        final BlockingQueue<CommandResult> results = new LinkedBlockingQueue<>();
        final List<String> agentPings = new CopyOnWriteArrayList<>();
        volatile StreamObserver<ControlPlaneMessage> out;

        synchronized void send(ControlPlaneMessage m) {
            out.onNext(m);
        }

        void ping(long nonce) {
            pingSentNanos.put(nonce, System.nanoTime());
            send(ControlPlaneMessage.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build());
        }

        @Override
        public StreamObserver<AgentMessage> control(StreamObserver<ControlPlaneMessage> responses) {
            out = responses;
            return new StreamObserver<>() {
                @Override
                public void onNext(AgentMessage m) {
                    switch (m.getBodyCase()) {
                        case HELLO -> {
                            send(ControlPlaneMessage.newBuilder().setWelcome(Welcome.newBuilder().setSessionId("slow-disk")).build());
                            welcomed.countDown();
                        }
                        case PING -> {
                            agentPings.add(String.valueOf(m.getPing().getNonce()));
                            send(ControlPlaneMessage.newBuilder().setPong(Pong.newBuilder().setNonce(m.getPing().getNonce())).build());
                        }
                        case PONG -> {
                            Long sent = pingSentNanos.remove(m.getPong().getNonce());
                            if (sent != null) {
                                pongDelaysMs.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent));
                            }
                        }
                        case RESULT -> results.add(m.getResult());
                        default -> { }
                    }
                }

                @Override
                public void onError(Throwable t) { }

                @Override
                public void onCompleted() {
                    responses.onCompleted();
                }
            };
        }
    }

    @AfterEach
    void stop() {
        if (connector != null) {
            connector.close(Duration.ofSeconds(1));
        }
        if (server != null) {
            server.shutdownNow();
        }
        if (journal != null) {
            journal.close();
        }
        if (log != null) {
            log.close();
        }
    }

    @Test
    void pongsGoOutOnTimeAndTheLinkStaysWhileEveryFsyncTakesTwoSeconds() throws Exception {
        DaemonConfig config = ConfigLoader.parse("""
                state_dir: %s
                control_plane:
                  ping_interval: 300ms
                  ping_timeout: 700ms
                  connect_timeout: 3s
                  backoff: {initial: 100ms, max: 1s}
                """.formatted(dir), "test");
        log = AuditLog.open(dir.resolve("audit"), 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(10));
        AuditTrail slow = new SlowTrail(log);
        journal = WorkJournal.open(dir.resolve("commands.journal"), WorkRunner.LEDGER_RETENTION);
        SandboxService sandboxes = new SandboxService(DriverRegistry.of(List.of(new MemoryDriver())), new LocalPolicy(config.policy()),
                (s, state, why) -> { });
        WorkRunner runner = new WorkRunner(sandboxes, journal, slow, new AgentEvents(slow), null, (item, outcome) -> { });

        PingingControlPlane cp = new PingingControlPlane();
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(cp).build().start();
        BlockingQueue<String> disconnects = new LinkedBlockingQueue<>();
        connector = new GrpcConnector(runner, config.controlPlane(), () -> InProcessChannelBuilder.forName(name).build(),
                () -> Hello.newBuilder().setAgentId("agent-slow").build(), () -> null, new ConnectionListener() {
                    @Override
                    public void disconnected(String reason) {
                        disconnects.add(reason);
                    }
                });
        connector.start();
        assertTrue(cp.welcomed.await(10, TimeUnit.SECONDS), "no Hello reached the control plane");

        // Two commands: each waits 2 s for its `command` record, then 2 s more for its outcome's.
        for (String id : List.of("list-1", "list-2")) {
            cp.send(ControlPlaneMessage.newBuilder().setCommand(Command.newBuilder().setCommandId(id)
                    .setList(ListSandboxes.getDefaultInstance())).build());
        }
        // Meanwhile the control plane pings every 200 ms for 5 s.
        long worst = 0;
        for (long nonce = 1; nonce <= 25; nonce++) {
            cp.ping(nonce);
            Thread.sleep(200);
        }
        for (int i = 0; i < 25; i++) {
            Long delay = cp.pongDelaysMs.poll(5, TimeUnit.SECONDS);
            assertNotNull(delay, "pong " + (i + 1) + " of 25 never came (" + cp.pingSentNanos.size() + " unanswered)");
            worst = Math.max(worst, delay);
        }
        assertTrue(worst < FSYNC_MS / 2, "the slowest pong took " + worst + " ms while the disk took " + FSYNC_MS + " ms per fsync");
        assertTrue(disconnects.isEmpty(), "the link dropped: " + disconnects);
        assertTrue(cp.agentPings.size() >= 5, "the agent's own pings went on: " + cp.agentPings.size());

        for (int i = 0; i < 2; i++) {
            CommandResult r = cp.results.poll(20, TimeUnit.SECONDS);
            assertNotNull(r, "a command's result never came");
            assertTrue(r.hasSandboxes(), "a list result: " + r);
        }
        assertEquals(List.of(), List.copyOf(disconnects));
    }
}
