package io.airlock.daemon;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import io.airlock.connector.grpc.ConnectionListener;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A real control plane on loopback and a real daemon enrolled with it, with fast pings and
 * backoff so failure paths play out in seconds.
 */
class AgentFixture implements AutoCloseable {
    final Path root;
    final int port;
    ControlPlaneServer cp;
    Daemon daemon;
    String agentId;
    final BlockingQueue<String> connections = new LinkedBlockingQueue<>(1000);

    /** YAML appended to the daemon's configuration (top-level sections the base leaves out: policy, drivers). */
    String extraConfig = "";

    /** How long agent certificates live; null for the control plane's default. */
    final Duration certificateValidity;

    AgentFixture(Path root) throws Exception {
        this(root, null);
    }

    AgentFixture(Path root, Duration certificateValidity) throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        this.root = root;
        this.certificateValidity = certificateValidity;
        this.port = freePort();
        startControlPlane();
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    void startControlPlane() throws Exception {
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(root.resolve("cp"), port).withCertificateValidity(certificateValidity));
    }

    void stopControlPlane() {
        cp.close();
    }

    DaemonConfig config(String address) throws Exception {
        return ConfigLoader.parse("""
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                control_plane:
                  address: "%s"
                  ping_interval: 300ms
                  ping_timeout: 700ms
                  connect_timeout: 3s
                  backoff: {initial: 100ms, max: 1s, reset_after: 2s}
                drain:
                  grace_period: 10s
                """.formatted(root.resolve("agent"), address) + extraConfig, "test config");
    }

    AgentFixture enrollAndStart() throws Exception {
        return enrollAndStart("");
    }

    AgentFixture enrollAndStart(String addressOverride) throws Exception {
        String token = cp.createJoinToken(Duration.ofMinutes(5)).encode();
        agentId = new Enroller(Clock.systemUTC()).enroll(token, root.resolve("agent"), "test-agent").agentId();
        startDaemon(addressOverride);
        return this;
    }

    void startDaemon(String addressOverride) throws Exception {
        daemon = Daemon.start(config(addressOverride), new ConnectionListener() {
            @Override
            public void connected(String sessionId) {
                connections.offer("connected");
            }

            @Override
            public void disconnected(String reason) {
                connections.offer("disconnected: " + reason);
            }
        });
        awaitEvent("connected", Duration.ofSeconds(20));
    }

    /** Waits for a connection event starting with {@code prefix}; returns it. */
    String awaitEvent(String prefix, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            String e = left > 0 ? connections.poll(left, TimeUnit.NANOSECONDS) : null;
            if (e == null) {
                throw new AssertionError("no '" + prefix + "' connection event within " + max);
            }
            if (e.startsWith(prefix)) {
                return e;
            }
        }
    }

    @Override
    public void close() {
        if (daemon != null) {
            daemon.stop();
        }
        if (cp != null) {
            cp.close();
        }
    }
}
