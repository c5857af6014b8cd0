package io.airlock.connector.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.Drain;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.Ping;
import io.airlock.proto.v1.Pong;
import io.airlock.proto.v1.Reconnect;
import io.airlock.proto.v1.Welcome;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Control session's state machine on a fake clock and a fake transport: no gRPC, no
 * network, no threads. Minutes of connection life run in milliseconds.
 */
class ControlSessionTest {
    private final FakeClock clock = new FakeClock();
    private final FakeTransport transport = new FakeTransport();
    private final List<String> events = new ArrayList<>();
    private final List<Command> commands = new ArrayList<>();
    private int inFlight;
    private ControlSession session;

    @BeforeEach
    void start() throws Exception {
        DaemonConfig.ControlPlane config = ConfigLoader.parse("""
                control_plane:
                  ping_interval: 1s
                  ping_timeout: 500ms
                  connect_timeout: 3s
                  drain_wait: 10s
                  backoff: {initial: 1s, max: 8s, multiplier: 2.0, jitter: 0.2, reset_after: 30s}
                """, "test").controlPlane();
        session = new ControlSession(config, transport, clock.scheduler, clock::nanoTime, new SplittableRandom(42),
                () -> Hello.newBuilder().setAgentId("agent-1").build(),
                () -> AuditAnchor.newBuilder().setSeq(7).setSha256("ab").build(),
                new ControlSession.CommandSink() {
                    @Override
                    public void onCommand(Command command) {
                        commands.add(command);
                    }

                    @Override
                    public int inFlight() {
                        return inFlight;
                    }
                }, new ConnectionListener() {
                    @Override
                    public void connected(String sessionId) {
                        events.add("connected " + sessionId);
                    }

                    @Override
                    public void disconnected(String reason) {
                        events.add("disconnected " + reason);
                    }

                    @Override
                    public void reconnectScheduled(Duration delay) {
                        events.add("retry " + delay.toMillis());
                    }

                    @Override
                    public void serverDraining(String reason) {
                        events.add("draining " + reason);
                    }
                });
        session.start();
        clock.runDue();
    }

    private static ControlPlaneMessage welcome(String sessionId, String token) {
        return ControlPlaneMessage.newBuilder().setWelcome(Welcome.newBuilder().setSessionId(sessionId).setResumeToken(token)).build();
    }

    private FakeTransport.FakeStream connected() {
        FakeTransport.FakeStream s = transport.last();
        s.events.message(welcome("s" + transport.streams.size(), "token-" + transport.streams.size()));
        clock.runDue();
        return s;
    }

    /** Moves time on in 100 ms steps, answering each of the session's pings as a live control plane does. */
    private void liveFor(FakeTransport.FakeStream s, long ms) {
        for (long t = 0; t < ms; t += 100) {
            clock.forwardMs(Math.min(100, ms - t));
            AgentMessage m = s.last();
            if (m.hasPing()) {
                s.events.message(ControlPlaneMessage.newBuilder().setPong(Pong.newBuilder().setNonce(m.getPing().getNonce())).build());
            }
        }
    }

    /** The delay of the last reconnect scheduled. */
    private long lastRetryMs() {
        for (int i = events.size() - 1; i >= 0; i--) {
            if (events.get(i).startsWith("retry ")) {
                return Long.parseLong(events.get(i).substring(6));
            }
        }
        throw new AssertionError("no reconnect scheduled: " + events);
    }

    @Test
    void helloOpensTheSessionAndWelcomeMakesItLive() {
        FakeTransport.FakeStream s = transport.last();
        assertEquals(1, transport.streams.size());
        Hello hello = s.sent.get(0).getHello();
        assertEquals("agent-1", hello.getAgentId());
        assertEquals("", hello.getResumeToken());
        assertEquals(1000, hello.getPingIntervalMs());
        assertFalse(session.isConnected());
        assertFalse(s.established);

        connected();
        assertTrue(session.isConnected());
        assertTrue(s.established, "Data streams may use the connection once welcomed");
        assertEquals(List.of("connected s1"), events);
    }

    @Test
    void noWelcomeWithinConnectTimeoutDropsTheAttemptAndRetriesWithBackoff() {
        clock.forwardMs(2_999);
        assertNull(transport.last().cancelled);
        clock.forwardMs(1);
        assertTrue(transport.last().cancelled.startsWith("no Welcome within connect_timeout 3000ms"), transport.last().cancelled);
        long first = lastRetryMs();
        assertTrue(first >= 800 && first <= 1_000, "first retry within [0.8, 1] of 1 s: " + first);
        clock.forwardMs(first - 1);
        assertEquals(1, transport.streams.size());
        clock.forwardMs(1);
        assertEquals(2, transport.streams.size(), "the next attempt, on a new connection");

        clock.forwardMs(3_000);
        long second = lastRetryMs();
        assertTrue(second >= 1_600 && second <= 2_000, "the second retry doubles: " + second);
        for (int i = 0; i < 6; i++) {
            clock.forwardMs(lastRetryMs() + 3_000);
        }
        assertTrue(lastRetryMs() <= 8_000 && lastRetryMs() >= 6_400, "capped at max: " + lastRetryMs());
    }

    @Test
    void pingsCarryTheAuditAnchorAndAMissingPongDropsAHalfOpenLink() {
        FakeTransport.FakeStream s = connected();
        clock.forwardMs(1_000);
        Ping ping = s.last().getPing();
        assertEquals(7, ping.getAuditAnchor().getSeq());
        s.events.message(ControlPlaneMessage.newBuilder().setPong(Pong.newBuilder().setNonce(ping.getNonce())).build());
        clock.forwardMs(999);
        assertNull(s.cancelled, "answered in time: the link stays");

        clock.forwardMs(1);
        long nonce = s.last().getPing().getNonce();
        assertTrue(nonce != ping.getNonce(), "a new nonce per ping");
        s.events.message(ControlPlaneMessage.newBuilder().setPong(Pong.newBuilder().setNonce(nonce + 1)).build());
        clock.forwardMs(499);
        assertNull(s.cancelled);
        clock.forwardMs(1);
        assertTrue(s.cancelled.contains("no Pong within ping_timeout 500ms"), s.cancelled);
        assertFalse(session.isConnected());
        assertTrue(events.contains("disconnected " + s.cancelled), events.toString());
    }

    @Test
    void theControlPlanesPingsAreAnsweredAndCommandsGoToTheSink() {
        FakeTransport.FakeStream s = connected();
        s.events.message(ControlPlaneMessage.newBuilder().setPing(Ping.newBuilder().setNonce(99)).build());
        s.events.message(ControlPlaneMessage.newBuilder().setCommand(Command.newBuilder().setCommandId("c1")).build());
        clock.runDue();
        assertEquals(99, s.last().getPong().getNonce());
        assertEquals("c1", commands.get(0).getCommandId());
    }

    @Test
    void aLateCallbackOfAnEarlierAttemptChangesNothing() {
        FakeTransport.FakeStream first = connected();
        first.events.failed("UNAVAILABLE: connection reset");
        clock.runDue();
        assertEquals("UNAVAILABLE: connection reset", first.cancelled);
        clock.forwardMs(lastRetryMs());
        FakeTransport.FakeStream second = transport.last();
        assertEquals(2, transport.streams.size());
        assertEquals("token-1", second.sent.get(0).getHello().getResumeToken(), "the next Hello resumes the session");

        first.events.message(welcome("old", "old-token"));
        first.events.message(ControlPlaneMessage.newBuilder().setCommand(Command.newBuilder().setCommandId("late")).build());
        first.events.failed("late failure");
        first.events.completed();
        clock.runDue();
        assertFalse(session.isConnected(), "the old stream's Welcome does not make the new attempt live");
        assertTrue(commands.isEmpty(), "nor does its command run");
        assertNull(second.cancelled, "nor does its failure drop the new attempt");
        int before = events.size();
        connected();
        assertEquals("connected s2", events.get(before));
    }

    @Test
    void aServerDrainWaitsForRunningCommandsThenReconnectsAtOnce() {
        FakeTransport.FakeStream s = connected();
        inFlight = 2;
        s.events.message(ControlPlaneMessage.newBuilder().setDrain(Drain.newBuilder().setReason("rollout")).build());
        liveFor(s, 5_000);
        assertNull(s.cancelled, "commands still run: the link stays");
        assertTrue(events.contains("draining rollout"));
        inFlight = 0;
        clock.forwardMs(ControlSession.DRAIN_CHECK_MS);
        assertEquals("the control plane drained this connection", s.cancelled);
        assertEquals(0, lastRetryMs(), "a drain is not a failure: no backoff");
    }

    @Test
    void aServerDrainGivesUpWaitingAfterDrainWait() {
        FakeTransport.FakeStream s = connected();
        inFlight = 1;
        s.events.message(ControlPlaneMessage.newBuilder().setDrain(Drain.newBuilder().setReason("rollout")).build());
        liveFor(s, 9_900);
        assertNull(s.cancelled);
        liveFor(s, 200);
        assertEquals("the control plane drained this connection", s.cancelled);
    }

    @Test
    void aReconnectRequestReconnectsAtOnceAndAStableLinkResetsTheBackoff() {
        FakeTransport.FakeStream s = transport.last();
        s.events.failed("refused");
        clock.runDue();
        clock.forwardMs(lastRetryMs());
        transport.last().events.failed("refused");
        clock.runDue();
        assertTrue(lastRetryMs() >= 1_600, "backing off: " + lastRetryMs());
        clock.forwardMs(lastRetryMs());

        FakeTransport.FakeStream up = connected();
        liveFor(up, 31_000);
        up.events.failed("reset by peer");
        clock.runDue();
        assertTrue(lastRetryMs() <= 1_000, "up 31 s (reset_after 30 s): the backoff starts again: " + lastRetryMs());

        clock.forwardMs(lastRetryMs());
        FakeTransport.FakeStream next = connected();
        next.events.message(ControlPlaneMessage.newBuilder().setReconnect(Reconnect.newBuilder().setReason("move")).build());
        clock.runDue();
        assertEquals("the control plane asked to reconnect: move", next.cancelled);
        assertEquals(0, lastRetryMs());
        clock.runDue();
        assertEquals(5, transport.streams.size());
    }

    @Test
    void theOutboxWaitsForTheWindowAndIsBounded() {
        FakeTransport.FakeStream s = connected();
        s.ready = false;
        session.send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setNonce(1)).build());
        clock.runDue();
        int sent = s.sent.size();
        s.ready = true;
        s.events.ready();
        clock.runDue();
        assertEquals(sent + 1, s.sent.size(), "sent once the window opened");

        s.ready = false;
        for (int i = 0; i <= ControlSession.MAX_OUTBOX; i++) {
            session.send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setNonce(i)).build());
        }
        clock.runDue();
        assertTrue(s.cancelled.startsWith("the control plane stopped reading"), s.cancelled);
    }

    @Test
    void messagesWithoutASessionAreDropped() {
        session.send(AgentMessage.newBuilder().setPong(Pong.newBuilder().setNonce(1)).build());
        clock.runDue();
        assertEquals(1, transport.last().sent.size(), "only the Hello went");
    }

    @Test
    void stopEndsTheStreamCleanlyAndNothingReconnects() throws Exception {
        FakeTransport.FakeStream s = connected();
        var stopping = session.stop();
        clock.runDue();
        assertTrue(s.finished);
        assertNull(s.cancelled);
        assertEquals(s, stopping.getNow(null));
        assertEquals("disconnected the daemon is stopping", events.get(events.size() - 1));
        s.events.failed("closed");
        clock.forwardMs(120_000);
        assertEquals(1, transport.streams.size(), "no reconnect after stop");
        assertFalse(session.isConnected());
    }

    /** Streams the session opened, each recording what it sent and how it ended. */
    static final class FakeTransport implements ControlTransport {
        final List<FakeStream> streams = new ArrayList<>();

        FakeStream last() {
            return streams.get(streams.size() - 1);
        }

        @Override
        public Stream open(Events events) {
            FakeStream s = new FakeStream(events);
            streams.add(s);
            return s;
        }

        static final class FakeStream implements Stream {
            final Events events;
            final List<AgentMessage> sent = new ArrayList<>();
            boolean ready = true;
            boolean established;
            boolean finished;
            String cancelled;

            FakeStream(Events events) {
                this.events = events;
            }

            AgentMessage last() {
                return sent.get(sent.size() - 1);
            }

            @Override
            public boolean isReady() {
                return ready;
            }

            @Override
            public void send(AgentMessage message) {
                sent.add(message);
            }

            @Override
            public void established() {
                established = true;
            }

            @Override
            public void cancel(String reason) {
                cancelled = reason;
            }

            @Override
            public void finish() {
                finished = true;
            }

            @Override
            public boolean awaitTermination(Duration max) {
                return true;
            }
        }
    }
}
