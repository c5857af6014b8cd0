package io.airlock.core.work;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A connector that keeps what the core sends, and data channels a test feeds frames into. */
final class FakeConnector implements Connector {
    record Reply(String workId, Outcome outcome) {}

    final BlockingQueue<Reply> replies = new LinkedBlockingQueue<>(1000);
    final List<AgentEvent> events = new CopyOnWriteArrayList<>();
    final Map<String, Channel> channels = new ConcurrentHashMap<>();

    /** One data channel: what the core sent, and a way to send it frames as a caller would. */
    static final class Channel implements DataChannel {
        final Inbound inbound;
        final List<Frame> sent = new CopyOnWriteArrayList<>();
        final CompletableFuture<Void> peerClosed = new CompletableFuture<>();
        volatile boolean finished;
        volatile String aborted;

        Channel(Inbound inbound) {
            this.inbound = inbound;
        }

        /** A frame from the caller; a failure ends the channel as the gRPC one does. */
        void receive(Frame frame) {
            try {
                inbound.accept(frame);
            } catch (Exception e) {
                abort("the agent could not handle a frame: " + e.getMessage());
                peerClosed.completeExceptionally(e);
            }
        }

        @Override
        public void send(Frame frame, Duration max) {
            sent.add(frame);
        }

        @Override
        public void sendNow(Frame frame) {
            sent.add(frame);
        }

        @Override
        public void finish() {
            finished = true;
        }

        @Override
        public void abort(String why) {
            aborted = why;
        }

        @Override
        public CompletableFuture<Void> peerClosed() {
            return peerClosed;
        }

        byte[] chunks() {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            sent.stream().filter(f -> f instanceof Frame.Chunk).forEach(f -> out.writeBytes(((Frame.Chunk) f).data()));
            return out.toByteArray();
        }
    }

    @Override
    public void reply(String workId, Outcome outcome) {
        replies.add(new Reply(workId, outcome));
    }

    @Override
    public void event(AgentEvent event) {
        events.add(event);
    }

    @Override
    public DataChannel openData(String workId, long deadlineMs, DataChannel.Inbound inbound) {
        Channel c = new Channel(inbound);
        channels.put(workId, c);
        return c;
    }

    Reply reply(Duration max) throws InterruptedException {
        Reply r = replies.poll(max.toMillis(), TimeUnit.MILLISECONDS);
        if (r == null) {
            throw new AssertionError("no reply within " + max + "; events: " + events);
        }
        return r;
    }

    Channel awaitChannel(String workId, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            Channel c = channels.get(workId);
            if (c != null) {
                return c;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no data channel for " + workId + " within " + max);
    }

    List<AgentEvent> events() {
        return new ArrayList<>(events);
    }
}
