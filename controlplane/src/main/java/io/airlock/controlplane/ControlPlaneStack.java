package io.airlock.controlplane;

import io.airlock.controlplane.admin.AdminServer;
import io.airlock.controlplane.admin.AdminToken;
import io.airlock.controlplane.mcp.McpEndpoint;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The reference control plane as one composition: the agent endpoint (mTLS), the admin API on
 * loopback and the MCP endpoint in front of every agent's private servers. {@code airlock cp
 * serve}, {@code airlock dev} and the benchmarks all start this one; a part that cannot start
 * closes the parts before it, and {@link #close} closes them in reverse.
 *
 * @param adminToken the admin API's bearer token, which the MCP endpoint's callers present too
 */
public record ControlPlaneStack(ControlPlaneServer server, AdminServer admin, McpEndpoint mcp, String adminToken) implements AutoCloseable {

    /** @param adminPort and the MCP endpoint's port, on 127.0.0.1; 0 for any free port */
    public static ControlPlaneStack start(ControlPlaneServer.Options options, int adminPort, int mcpPort) throws IOException {
        ControlPlaneServer server = ControlPlaneServer.start(options);
        AdminServer admin = null;
        try {
            admin = new AdminServer(server, options.stateDir(), adminPort);
            String token = AdminToken.read(options.stateDir());
            McpEndpoint mcp = McpEndpoint.start(server.agents(), new InetSocketAddress("127.0.0.1", mcpPort), token);
            return new ControlPlaneStack(server, admin, mcp, token);
        } catch (IOException | RuntimeException e) {
            if (admin != null) {
                admin.close();
            }
            server.close();
            throw e;
        }
    }

    @Override
    public void close() {
        mcp.close();
        admin.close();
        server.close();
    }
}
