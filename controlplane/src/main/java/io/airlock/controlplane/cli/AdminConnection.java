package io.airlock.controlplane.cli;

import io.airlock.controlplane.admin.AdminCalls;
import io.airlock.controlplane.admin.AdminToken;
import io.airlock.controlplane.admin.v1.ControlPlaneAdminGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A connection to a running control plane's admin API, found through its state directory. */
final class AdminConnection implements AutoCloseable {
    private final ManagedChannel channel;
    /**
     * The connection's own I/O thread, stopped in {@link #close()}. gRPC's shared one outlives the
     * call, and a JVM that exits while a thread waits in epoll (native code) waits 300 ms for it:
     * half of a short command's time.
     */
    private final EventLoopGroup eventLoop;
    /** Where the admin API was found (host:port), for messages. */
    final String address;
    final ControlPlaneAdminGrpc.ControlPlaneAdminBlockingStub blocking;
    final ControlPlaneAdminGrpc.ControlPlaneAdminStub async;

    /** @param waitForAgent how long a command waits for an offline agent before it is given up, unsent */
    AdminConnection(Path stateDir, Duration waitForAgent) throws IOException {
        String token;
        try {
            address = Files.readString(stateDir.resolve("admin.address")).strip();
            token = AdminToken.read(stateDir);
        } catch (NoSuchFileException e) {
            throw new IOException("no running control plane found in " + stateDir.toAbsolutePath()
                    + " (start one with 'airlock cp serve', or pass --state-dir)");
        }
        eventLoop = new NioEventLoopGroup(1);
        channel = NettyChannelBuilder.forTarget(address).usePlaintext().eventLoopGroup(eventLoop).channelType(NioSocketChannel.class).build();
        Metadata auth = new Metadata();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        auth.put(AdminCalls.WAIT_HEADER, Long.toString(waitForAgent.toMillis()));
        blocking = ControlPlaneAdminGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
        async = ControlPlaneAdminGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(auth));
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(2, TimeUnit.SECONDS);
            eventLoop.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
