package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.airlock.core.audit.AuditTrail;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The lease's rules (the SDK 1.16 worker's) on a fake clock: when it beats, and how it ends. */
class LeaseTest {
    /** A clock that moves only when the lease waits. */
    static final class FakeTime implements Lease.Time {
        long nanos = 1_000_000_000L;

        @Override
        public long nanos() {
            return nanos;
        }

        @Override
        public void await(CountDownLatch wake, long millis) {
            if (wake.getCount() > 0) {
                nanos += TimeUnit.MILLISECONDS.toNanos(millis);
            }
        }

        long millis() {
            return TimeUnit.NANOSECONDS.toMillis(nanos - 1_000_000_000L);
        }
    }

    /** Heartbeat answers in order, each taken at the fake time; what each was sent with is kept. */
    static final class Script implements Lease.Heartbeats {
        final FakeTime time;
        final Deque<Object> answers = new ArrayDeque<>();
        final List<String> sent = new ArrayList<>();
        final List<Long> sentAtMillis = new ArrayList<>();
        Lease lease;

        Script(FakeTime time) {
            this.time = time;
        }

        Script ok(String last, int ttl) {
            answers.add(new WorkQueueApi.Heartbeat(last, true, "active", ttl));
            return this;
        }

        Script notExtended() {
            answers.add(new WorkQueueApi.Heartbeat("x", false, "stopping", 0));
            return this;
        }

        Script fail(int status) {
            answers.add(new ApiException(status, "error", "HTTP " + status, JsonNodeFactory.instance.objectNode()));
            return this;
        }

        @Override
        public WorkQueueApi.Heartbeat send(String expectedLast, Duration timeout) throws ApiException {
            assertEquals(Duration.ofSeconds(30), timeout, "each heartbeat has a 30 s deadline");
            sent.add(expectedLast);
            sentAtMillis.add(time.millis());
            Object a = answers.poll();
            if (a == null) {
                lease.close(); // the script is over: the session ended
                return new WorkQueueApi.Heartbeat("end", true, "active", 60);
            }
            if (a instanceof ApiException e) {
                throw e;
            }
            return (WorkQueueApi.Heartbeat) a;
        }
    }

    private final List<Map<String, Object>> audited = new ArrayList<>();
    private final List<String> told = new ArrayList<>();
    private final AuditTrail audit = new AuditTrail() {
        @Override
        public void append(String type, Map<String, ?> fields) {
            audited.add(Map.copyOf(fields));
        }

        @Override
        public String hashed(String value) {
            return "h";
        }

        @Override
        public boolean isClosed() {
            return false;
        }
    };

    private Lease lease(Script s) {
        Lease l = new Lease("work_1", s, s.time, new SplittableRandom(7), audit, (how, why) -> told.add(how + ": " + why));
        s.lease = l;
        return l;
    }

    @Test
    void beatsAtHalfTheTtlCappedAt30sFromEachSendTimeWithCompareAndSet() throws Exception {
        FakeTime t = new FakeTime();
        Script s = new Script(t).ok("h1", 20).ok("h2", 120).ok("h3", 120);
        Lease l = lease(s);
        assertTrue(l.claim());
        l.run();
        assertEquals(List.of("NO_HEARTBEAT", "h1", "h2", "h3"), s.sent);
        assertEquals(List.of(0L, 10_000L, 40_000L, 70_000L), s.sentAtMillis, "ttl 20 s: after 10 s; ttl 120 s: every 30 s");
        assertNull(l.ended());
    }

    @Test
    void aStaleHeartbeatLosesTheLeaseAndTheItemIsNotOursToStop() throws Exception {
        FakeTime t = new FakeTime();
        Lease l = lease(new Script(t).ok("h1", 60).fail(412));
        assertTrue(l.claim());
        l.run();
        assertEquals(Lease.End.LOST, l.ended());
        assertTrue(l.lost());
        assertEquals("lease_lost", audited.get(0).get("event"));
        assertTrue(told.get(0).startsWith("LOST: another heartbeat holds the lease (412"), told.toString());
    }

    @Test
    void leaseExtendedFalseIsAShutdownTheItemStillOurs() throws Exception {
        FakeTime t = new FakeTime();
        Lease l = lease(new Script(t).ok("h1", 60).notExtended());
        assertTrue(l.claim());
        l.run();
        assertEquals(Lease.End.SHUTDOWN, l.ended());
        assertFalse(l.lost());
        assertEquals("lease_shutdown", audited.get(0).get("event"));
    }

    @Test
    void transientFailuresAreRetriedWithBackoffUntilTheLeaseWouldExpireThenItIsLost() throws Exception {
        FakeTime t = new FakeTime();
        Script s = new Script(t).ok("h1", 10);
        for (int i = 0; i < 20; i++) {
            s.fail(503);
        }
        Lease l = lease(s);
        assertTrue(l.claim());
        l.run();
        assertEquals(Lease.End.LOST, l.ended());
        assertTrue(l.reason().startsWith("no heartbeat succeeded within the lease's 10 s"), l.reason());
        // Due at 5 s; retries after about 1, 2 and 4 s (jittered to half of each at least), none at or past 10 s.
        assertEquals(5_000L, s.sentAtMillis.get(1));
        for (int k = 2; k < s.sentAtMillis.size(); k++) {
            assertTrue(s.sentAtMillis.get(k) > s.sentAtMillis.get(k - 1), s.sentAtMillis.toString());
            assertTrue(s.sentAtMillis.get(k) < 10_000L, s.sentAtMillis.toString());
        }
        assertTrue(s.sentAtMillis.size() >= 4, s.sentAtMillis.toString());
        assertTrue(t.millis() <= 10_000L, "lost when the lease expires, not later: " + t.millis());
    }

    @Test
    void theFirstHeartbeatAssumesTheApisDefaultTtlAndAPermanentRefusalLosesIt() throws Exception {
        FakeTime t = new FakeTime();
        Script s = new Script(t).fail(503).fail(500).fail(401);
        Lease l = lease(s);
        assertFalse(l.claim());
        assertEquals(Lease.End.LOST, l.ended());
        assertEquals(300_000L, l.ttlMillis());
        assertTrue(l.reason().contains("refused the heartbeat for good: 401"), l.reason());
        assertEquals(3, s.sent.size());
    }

    @Test
    void closingEndsTheLoopWithoutEndingTheLease() throws Exception {
        FakeTime t = new FakeTime();
        Script s = new Script(t).ok("h1", 60).fail(412);
        Lease l = lease(s);
        assertTrue(l.claim());
        l.close();
        l.run();
        assertEquals(List.of("NO_HEARTBEAT"), s.sent, "no heartbeat after close (the next would have lost the lease)");
        assertNull(l.ended());
        assertTrue(audited.isEmpty());
    }
}
