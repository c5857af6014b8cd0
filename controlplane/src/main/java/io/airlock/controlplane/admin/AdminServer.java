package io.airlock.controlplane.admin;

import io.airlock.controlplane.ControlPlaneServer;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Serves the admin API on loopback only (plaintext: it never leaves the host) and writes its
 * address to {@code admin.address} so the CLI finds it.
 */
public final class AdminServer implements AutoCloseable {
    private final Server server;
    private final Path addressFile;

    public AdminServer(ControlPlaneServer cp, Path stateDir, int port) throws IOException {
        AdminToken token = AdminToken.loadOrCreate(stateDir);
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))
                .addService(ServerInterceptors.intercept(new AdminService(cp), new AdminCalls(), token))
                .build()
                .start();
        this.addressFile = stateDir.resolve("admin.address");
        Files.writeString(addressFile, "127.0.0.1:" + server.getPort() + "\n");
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(addressFile);
        } catch (IOException e) {
            // stale file: the CLI reports a refused connection
        }
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
