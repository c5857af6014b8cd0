package io.airlock.connector.grpc;

import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.CertificateRenewer;
import io.airlock.connector.grpc.identity.LiveCredentials;
import io.airlock.core.audit.AuditAnchor;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.core.work.AgentEvents;
import io.airlock.core.work.WorkRunner;
import io.airlock.driver.Capability;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.proto.v1.Capacity;
import io.airlock.proto.v1.DriverInfo;
import io.airlock.proto.v1.Hello;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The agent's airlock.v1 link, whole: its mTLS identity (swapped in place on renewal), the
 * connector with its Control session, and the certificate renewer; what Hello and every Ping
 * say about this agent is built here, so no protocol type leaves this module.
 */
public final class GrpcLink implements AutoCloseable {
    /** What the agent holds that Hello reports: drivers, sandboxes (with their views), capacity. */
    public record Inventory(String agentId, String version, DriverRegistry drivers, SandboxService sandboxes, WorkRunner runner,
            Supplier<Optional<AuditAnchor>> auditHead) {}

    private final String address;
    private final LiveCredentials credentials;
    /** gRPC callbacks may block on a process pipe or a file (that is the flow control); virtual threads make that cheap. */
    private final ExecutorService callbacks = Executors.newVirtualThreadPerTaskExecutor();
    private final GrpcConnector connector;
    private final CertificateRenewer renewer;

    private GrpcLink(AgentIdentity identity, DaemonConfig.ControlPlane config, Inventory inventory, AgentEvents events,
            ConnectionListener listener, CertificateRenewer.Listener renewals, Path stateDir) throws IOException {
        this.address = config.address().isEmpty() ? identity.controlPlaneAddress() : config.address();
        this.credentials = new LiveCredentials(identity);
        this.connector = new GrpcConnector(inventory.runner(), config, this::channel, () -> hello(inventory),
                () -> anchor(inventory.auditHead().get()), listener);
        events.subscribe(connector);
        this.renewer = new CertificateRenewer(stateDir, credentials, connector::liveChannel, Clock.systemUTC(), renewals);
    }

    /** Builds the link and starts connecting and renewing. */
    public static GrpcLink start(AgentIdentity identity, DaemonConfig config, Inventory inventory, AgentEvents events,
            ConnectionListener listener, CertificateRenewer.Listener renewals) throws IOException {
        GrpcLink link = new GrpcLink(identity, config.controlPlane(), inventory, events, listener, renewals, config.stateDir());
        try {
            link.connector.start();
            link.renewer.start();
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
        return link;
    }

    private ManagedChannel channel() {
        return NettyChannelBuilder.forTarget(address)
                .sslContext(credentials.tls())
                .executor(callbacks)
                .maxInboundMessageSize(4 << 20)
                .build();
    }

    private static io.airlock.proto.v1.AuditAnchor anchor(Optional<AuditAnchor> head) {
        return head.map(a -> io.airlock.proto.v1.AuditAnchor.newBuilder().setSeq(a.seq()).setSha256(a.hash()).build()).orElse(null);
    }

    private static Hello hello(Inventory inv) {
        Hello.Builder h = Hello.newBuilder().setAgentId(inv.agentId()).setVersion(inv.version());
        var anchor = anchor(inv.auditHead().get());
        if (anchor != null) {
            h.setAuditAnchor(anchor);
        }
        for (SandboxDriver d : inv.drivers().all().values()) {
            var down = d.unavailableReason();
            h.addDrivers(DriverInfo.newBuilder().setName(d.name()).setIsDefault(d.name().equals(inv.drivers().defaultDriver()))
                    .setAvailable(down.isEmpty()).setUnavailableReason(down.orElse(""))
                    .addAllCapabilities(d.capabilities().stream().map(Capability::wireName).sorted().toList()));
        }
        List<Sandbox> live = inv.sandboxes().list();
        h.setCapacity(Capacity.newBuilder().setMaxSandboxes(inv.sandboxes().policy().maxSandboxes()).setActiveSandboxes(live.size()));
        live.forEach(s -> h.addInventory(ProtoCodec.sandbox(inv.runner().view(s))));
        return h.build();
    }

    /** The control plane's address (the configured one, else the one from enrollment). */
    public String address() {
        return address;
    }

    /** The identity in use now: renewal replaces key, certificate and CA bundle. */
    public AgentIdentity identity() {
        return credentials.current();
    }

    /** True while a Control session is up (Welcome received). */
    public boolean isConnected() {
        return connector.isConnected();
    }

    /** Tells the control plane we are draining (first SIGTERM). */
    public void sendDrainNotice(String reason, long graceDeadlineMs) {
        connector.sendDrainNotice(reason, graceDeadlineMs);
    }

    /** Stops renewing, closes the stream cleanly (the connection given {@code max}), then the callbacks. */
    public void close(Duration max) {
        renewer.close();
        connector.close(max);
        callbacks.shutdownNow();
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }
}
