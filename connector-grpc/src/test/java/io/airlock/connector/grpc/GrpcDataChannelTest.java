package io.airlock.connector.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.airlock.core.work.Frame;
import io.airlock.core.work.WorkError;
import io.airlock.core.work.WorkException;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.FileChunk;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A Data stream as the agent's side sees it, against a gRPC server on loopback that plays the
 * control plane: frames both ways through the codec, and a control plane that breaks the
 * protocol's 4 MiB message limit.
 */
class GrpcDataChannelTest {
    private Server server;
    private ManagedChannel channel;
    /** What the control plane received, in order. */
    private final LinkedBlockingQueue<DataFrame> received = new LinkedBlockingQueue<>(100);

    /** Starts a control plane that answers each Data stream's DataOpen with {@code reply}. */
    private void serve(List<DataFrame> reply) throws Exception {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .maxInboundMessageSize(4 << 20)
                .addService(new AgentGatewayGrpc.AgentGatewayImplBase() {
                    @Override
                    public StreamObserver<DataFrame> data(StreamObserver<DataFrame> toAgent) {
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(DataFrame frame) {
                                received.add(frame);
                                if (frame.hasOpen()) {
                                    reply.forEach(toAgent::onNext);
                                }
                            }

                            @Override
                            public void onError(Throwable t) {}

                            @Override
                            public void onCompleted() {
                                toAgent.onCompleted();
                            }
                        };
                    }
                }).build().start();
        channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().maxInboundMessageSize(4 << 20).build();
    }

    private GrpcDataChannel open(DataChannelInbound inbound) throws WorkException {
        return GrpcDataChannel.open((observer, deadlineMs) -> (ClientCallStreamObserver<DataFrame>) AgentGatewayGrpc.newStub(channel)
                .withDeadlineAfter(30, TimeUnit.SECONDS).data(observer), "cmd-1", System.currentTimeMillis() + 30_000, inbound::accept);
    }

    @FunctionalInterface
    private interface DataChannelInbound {
        void accept(Frame frame) throws Exception;
    }

    @AfterEach
    void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void framesCrossTheCodecBothWaysAndTheStreamEndsCleanly() throws Exception {
        serve(List.of(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFromUtf8("ab"))).build(),
                DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build()));
        List<Frame> in = new CopyOnWriteArrayList<>();
        GrpcDataChannel data = open(in::add);
        DataFrame first = received.poll(10, TimeUnit.SECONDS);
        assertEquals("cmd-1", first.getOpen().getCommandId(), "DataOpen first, naming the command");
        data.send(new Frame.Output(7, true, new byte[] {1, 2}), Duration.ofSeconds(10));
        DataFrame out = received.poll(10, TimeUnit.SECONDS);
        assertEquals(7, out.getOutput().getSeq());
        assertEquals("STDERR", out.getOutput().getStream().name());
        data.finish();
        data.peerClosed().get(10, TimeUnit.SECONDS);
        assertEquals(2, in.size(), in.toString());
        assertArrayEquals("ab".getBytes(), assertInstanceOf(Frame.Chunk.class, in.get(0)).data());
        assertInstanceOf(Frame.Eof.class, in.get(1));
    }

    @Test
    void aFrameOverFourMebibytesFromTheControlPlaneFailsTheStreamSayingSo() throws Exception {
        serve(List.of(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFrom(new byte[5 << 20]))).build()));
        CompletableFuture<Void> closed = open(frame -> { }).peerClosed();
        ExecutionException e = assertThrows(ExecutionException.class, () -> closed.get(10, TimeUnit.SECONDS));
        WorkException w = assertInstanceOf(WorkException.class, e.getCause());
        assertEquals(WorkError.RESOURCE_EXHAUSTED, w.error());
        assertTrue(w.getMessage().contains("over the protocol's 4 MiB message limit") && w.getMessage().contains("32 KiB"), w.getMessage());
    }
}
