package io.airlock.embedded;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.ControlPlaneStack;
import io.airlock.controlplane.admin.AdminServer;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.controlplane.mcp.McpEndpoint;
import io.airlock.daemon.Daemon;
import io.airlock.core.config.ConfigLoader;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.Enroller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * A control plane and a daemon in one process, talking over real mTLS on loopback, enrolled
 * the way an operator would (token file, CSR): what {@code airlock dev} and the benchmarks run.
 */
public final class EmbeddedStack implements AutoCloseable {
    public final ControlPlaneServer cp;
    public final AdminServer admin;
    public final Daemon daemon;
    /** The control plane's MCP endpoint; callers present {@link #adminToken} as their bearer token. */
    public final McpEndpoint mcp;
    public final String adminToken;
    public final AgentIdentity identity;
    public final Path dir;

    private final ControlPlaneStack stack;

    private EmbeddedStack(ControlPlaneStack stack, Daemon daemon, AgentIdentity identity, Path dir) {
        this.stack = stack;
        this.cp = stack.server();
        this.admin = stack.admin();
        this.mcp = stack.mcp();
        this.adminToken = stack.adminToken();
        this.daemon = daemon;
        this.identity = identity;
        this.dir = dir;
    }

    public static EmbeddedStack start(Path dir, String driver) throws Exception {
        return start(dir, driver, "{}");
    }

    /** @param driverOptions the driver's options as a YAML flow mapping, e.g. {@code {image: "x:1"}} */
    public static EmbeddedStack start(Path dir, String driver, String driverOptions) throws Exception {
        return start(dir, driver, driverOptions, "{}");
    }

    /** @param policy the daemon's {@code policy:} section as a YAML flow mapping */
    public static EmbeddedStack start(Path dir, String driver, String driverOptions, String policy) throws Exception {
        return start(dir, driver, driverOptions, policy, "{}");
    }

    /** @param mcp the daemon's {@code mcp:} section as a YAML flow mapping */
    public static EmbeddedStack start(Path dir, String driver, String driverOptions, String policy, String mcp) throws Exception {
        Files.createDirectories(dir);
        Path cpState = dir.resolve("controlplane");
        ControlPlaneStack stack = ControlPlaneStack.start(ControlPlaneServer.Options.loopback(cpState, 0), 0, 0);
        ControlPlaneServer cp = stack.server();
        try {
            Path tokenFile = dir.resolve("join-token");
            CertificateAuthority.writePrivate(tokenFile, cp.createJoinToken(Duration.ofMinutes(10)).encode());
            Path agentState = dir.resolve("agent");
            AgentIdentity identity = new Enroller(Clock.systemUTC()).enroll(Files.readString(tokenFile), agentState, "dev");
            Files.delete(tokenFile);
            String config = """
                    state_dir: %s
                    admin: {listen: "127.0.0.1:0"}
                    control_plane: {ping_interval: 5s, ping_timeout: 3s}
                    drivers: {default: "%s", enabled: ["%s"], options: {"%s": %s}}
                    drain: {grace_period: 5s}
                    policy: %s
                    mcp: %s
                    """.formatted(agentState, driver, driver, driver, driverOptions, policy, mcp);
            Daemon daemon = Daemon.start(ConfigLoader.parse(config, "airlock dev"));
            if (!cp.registry().awaitConnected(identity.agentId(), h -> true, Duration.ofSeconds(30))) {
                daemon.stop();
                throw new IllegalStateException("the daemon did not connect to the embedded control plane within 30s");
            }
            return new EmbeddedStack(stack, daemon, identity, dir);
        } catch (Exception e) {
            stack.close();
            throw e;
        }
    }

    @Override
    public void close() {
        stack.mcp().close(); // no new MCP calls while the daemon drains
        daemon.drain("airlock dev finished");
        stack.close();
    }
}
