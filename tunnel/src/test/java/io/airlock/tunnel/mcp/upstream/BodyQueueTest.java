package io.airlock.tunnel.mcp.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class BodyQueueTest {
    /** What the HTTP client was asked for and whether it was told to stop. */
    static final class Demand implements Flow.Subscription {
        final AtomicLong requested = new AtomicLong();
        final AtomicBoolean cancelled = new AtomicBoolean();

        @Override
        public void request(long n) {
            requested.addAndGet(n);
        }

        @Override
        public void cancel() {
            cancelled.set(true);
        }
    }

    private static List<ByteBuffer> read(int bytes) {
        return List.of(ByteBuffer.allocate(bytes));
    }

    @Test
    void readsAheadBoundedAndTakesWhatIsQueuedAsOnePieceUpToTheMaximum() throws Exception {
        BodyQueue q = new BodyQueue();
        Demand d = new Demand();
        q.onSubscribe(d);
        assertEquals(BodyQueue.AHEAD, d.requested.get(), "the client may read ahead this far, no further");
        for (int i = 0; i < 5; i++) {
            q.onNext(read(16 * 1024));
        }
        List<ByteBuffer> first = q.take(40 * 1024);
        assertEquals(32 * 1024, BodyQueue.size(first), "two reads fit in 40 KiB, a third does not");
        assertEquals(BodyQueue.AHEAD + 2, d.requested.get(), "each read taken is asked for again");
        assertEquals(3 * 16 * 1024, BodyQueue.size(q.take(1 << 20)));
        q.onComplete();
        assertNull(q.take(1 << 20));
        assertNull(q.take(1 << 20), "the end stays the end");
        q.close();
        assertTrue(d.cancelled.get());
    }

    @Test
    void aFailureComesAfterTheDataReadBeforeIt() throws Exception {
        BodyQueue q = new BodyQueue();
        q.onSubscribe(new Demand());
        q.onNext(read(10));
        q.onError(new IOException("connection reset"));
        assertEquals(10, BodyQueue.size(q.take(1 << 20)));
        IOException e = assertThrows(IOException.class, () -> q.take(1 << 20));
        assertEquals("connection reset", e.getMessage());
    }

    @Test
    void closeWakesAWaitingTakeAndStopsTheClient() throws Exception {
        BodyQueue q = new BodyQueue();
        Demand d = new Demand();
        q.onSubscribe(d);
        CompletableFuture<Throwable> taken = CompletableFuture.supplyAsync(() -> {
            try {
                q.take(1 << 20);
                return null;
            } catch (Exception e) {
                return e;
            }
        });
        Thread.sleep(100);
        q.close();
        assertTrue(taken.get(10, TimeUnit.SECONDS) instanceof IOException);
        assertTrue(d.cancelled.get());
    }

    @Test
    void aSubscriptionAfterCloseIsCancelledAtOnce() {
        BodyQueue q = new BodyQueue();
        q.close();
        Demand d = new Demand();
        q.onSubscribe(d);
        assertTrue(d.cancelled.get());
        assertEquals(0, d.requested.get());
    }
}
