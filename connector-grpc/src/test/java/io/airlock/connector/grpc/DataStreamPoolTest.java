package io.airlock.connector.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.work.Frame;
import io.airlock.core.work.WorkError;
import io.airlock.core.work.WorkException;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.FileEof;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Data streams opened ahead of their commands, against a gRPC server on loopback that plays the
 * control plane: it sees each idle stream start with no frame, DataOpen only at the claim.
 */
class DataStreamPoolTest {
    private Server server;
    private ManagedChannel channel;
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    /** Each stream's way back to the agent, in the order they started. */
    private final LinkedBlockingQueue<StreamObserver<DataFrame>> streams = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<DataFrame> received = new LinkedBlockingQueue<>();
    private DataStreamPool pool;

    @BeforeEach
    void serve() throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
            @Override
            public StreamObserver<DataFrame> data(StreamObserver<DataFrame> toAgent) {
                started.incrementAndGet();
                streams.add(toAgent);
                return new StreamObserver<>() {
                    @Override
                    public void onNext(DataFrame frame) {
                        received.add(frame);
                        if (frame.hasOpen()) {
                            toAgent.onNext(DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build());
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        cancelled.incrementAndGet();
                    }

                    @Override
                    public void onCompleted() {
                        toAgent.onCompleted();
                    }
                };
            }
        }).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        pool = new DataStreamPool(3, ch -> GrpcDataChannel.idle((observer, deadlineMs) ->
                (ClientCallStreamObserver<DataFrame>) AgentGatewayGrpc.newStub(ch).data(observer)));
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void streamsWaitWithoutAFrameUntilAClaimNamesTheCommandAndTheTakenOneIsReplaced() throws Exception {
        assertNull(pool.take(channel), "nothing before the pool is filled for this connection");
        pool.fill(channel);
        await(() -> started.get() == 3, "three streams started at the control plane");
        assertEquals(3, pool.idle());
        assertNull(received.poll(200, TimeUnit.MILLISECONDS), "an idle stream sends nothing");

        GrpcDataChannel data = pool.take(channel);
        assertNotNull(data);
        List<Frame> in = new CopyOnWriteArrayList<>();
        data.claim("cmd-7", in::add);
        assertEquals("cmd-7", received.poll(10, TimeUnit.SECONDS).getOpen().getCommandId());
        await(() -> in.size() == 1, "the control plane's frame reached the claimed stream's handler");
        assertInstanceOf(Frame.Eof.class, in.get(0));
        data.finish();
        data.peerClosed().get(10, TimeUnit.SECONDS);

        assertEquals(2, pool.idle());
        pool.fill(channel);
        await(() -> started.get() == 4, "the taken stream was replaced");
        assertEquals(3, pool.idle());
    }

    @Test
    void aStreamTheControlPlaneEndsWhileIdleLeavesThePool() throws Exception {
        pool.fill(channel);
        await(() -> started.get() == 3, "three streams started");
        streams.take().onCompleted();
        await(() -> pool.idle() == 2, "the ended stream left the pool");
    }

    @Test
    void clearingCancelsTheIdleStreamsSoAGracefulShutdownNeedNotWaitForThem() throws Exception {
        pool.fill(channel);
        await(() -> started.get() == 3, "three streams started");
        pool.clear();
        assertEquals(0, pool.idle());
        await(() -> cancelled.get() == 3, "the control plane saw all three cancelled");
        assertNull(pool.take(channel), "a cleared pool gives nothing until filled again");
        channel.shutdown();
        assertTrue(channel.awaitTermination(5, TimeUnit.SECONDS), "no call holds the channel");
    }

    @Test
    void aClaimedStreamPastItsCommandDeadlineEndsSayingSo() throws Exception {
        pool.fill(channel);
        await(() -> started.get() == 3, "three streams started");
        GrpcDataChannel data = pool.take(channel);
        data.claim("cmd-8", frame -> { });
        data.deadlineReached();
        ExecutionException e = assertThrows(ExecutionException.class, () -> data.peerClosed().get(10, TimeUnit.SECONDS));
        WorkException w = assertInstanceOf(WorkException.class, e.getCause());
        assertEquals(WorkError.DEADLINE_EXCEEDED, w.error());
        assertTrue(w.getMessage().contains("did not finish before the command deadline"), w.getMessage());
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            Thread.sleep(10);
        }
    }
}
