package io.airlock.tunnel.mcp.upstream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.net.http.HttpResponse;

/**
 * An upstream response body as the JDK's HTTP client reads it, for one relaying thread to take,
 * with up to {@value #AHEAD} reads asked for ahead of it: the client goes on reading the socket
 * while the relay sends. The JDK's own {@code BodyHandlers.ofInputStream()} asks for one read at
 * a time, so reading and sending took turns, and the relay spent most of a large response
 * waiting for the next 16 KiB. Bounded: no more than {@value #AHEAD} reads are ever queued.
 */
final class BodyQueue implements HttpResponse.BodySubscriber<BodyQueue> {
    static final int AHEAD = 16;
    private static final Object END = new Object();
    private static final Object CLOSED = new Object();

    /** Reads (List of ByteBuffer), then END, or a Throwable; CLOSED when the relay is aborted. */
    private final ArrayBlockingQueue<Object> queue = new ArrayBlockingQueue<>(AHEAD + 2);
    private final CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
    private volatile boolean closed;

    @Override
    public CompletionStage<BodyQueue> getBody() {
        return CompletableFuture.completedStage(this); // available at once: the relay takes reads as they come
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        if (!subscription.complete(s) || closed) {
            s.cancel();
            return;
        }
        s.request(AHEAD);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.offer(item); // never full: at most AHEAD reads are asked for beyond what was taken
    }

    @Override
    public void onError(Throwable t) {
        queue.offer(t);
    }

    @Override
    public void onComplete() {
        queue.offer(END);
    }

    /**
     * The next reads: waits for one, then adds those already queued while the total stays
     * within {@code max} bytes (so that what came in while the relay was sending goes on as one
     * frame). Null at the end of the body.
     *
     * @throws IOException the read failed, or {@link #close} aborted it
     */
    List<ByteBuffer> take(int max) throws IOException, InterruptedException {
        Object item = queue.take();
        if (item == CLOSED || closed) {
            queue.offer(CLOSED);
            throw new IOException("the upstream response was aborted");
        }
        if (item == END) {
            queue.offer(END); // stays the answer to any later take
            return null;
        }
        if (item instanceof Throwable t) {
            queue.offer(t);
            throw t instanceof IOException io ? io : new IOException(t.getMessage(), t);
        }
        List<ByteBuffer> reads = new ArrayList<>(castReads(item));
        int total = size(reads);
        subscription.join().request(1);
        // One taker: what it peeks at stays at the head until it polls.
        while (queue.peek() instanceof List<?> next && total + size(castReads(next)) <= max) {
            List<ByteBuffer> more = castReads(queue.poll());
            reads.addAll(more);
            total += size(more);
            subscription.join().request(1);
        }
        return reads;
    }

    /** Whether {@link #take} would answer at once: a read, the end or a failure is queued. */
    boolean ready() {
        return !queue.isEmpty();
    }

    @SuppressWarnings("unchecked")
    private static List<ByteBuffer> castReads(Object item) {
        return (List<ByteBuffer>) item;
    }

    static int size(List<ByteBuffer> buffers) {
        int n = 0;
        for (ByteBuffer b : buffers) {
            n += b.remaining();
        }
        return n;
    }

    /** Aborts: the client stops reading (its connection is not reused) and a waiting {@link #take} throws. */
    void close() {
        closed = true;
        subscription.thenAccept(Flow.Subscription::cancel);
        queue.offer(CLOSED);
    }
}
