package io.airlock.daemon;

import io.airlock.controlplane.mcp.McpEndpoint;
import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * What every MCP tunnel test stands on: an agent enrolled with a control plane and running
 * with an {@code mcp:} section, the reference endpoint in front of it, and a raw caller.
 */
final class McpAgent implements AutoCloseable {
    static final String TOKEN = "t";

    final AgentFixture fx;
    final McpEndpoint endpoint;
    final McpRawCaller caller;

    private McpAgent(AgentFixture fx, McpEndpoint endpoint) {
        this.fx = fx;
        this.endpoint = endpoint;
        this.caller = new McpRawCaller(endpoint, fx.agentId, TOKEN);
    }

    /** @param mcpSection the daemon's {@code mcp:} section, as YAML indented under it */
    static McpAgent start(Path dir, String mcpSection) throws Exception {
        AgentFixture fx = new AgentFixture(dir);
        fx.extraConfig = "drivers: {enabled: [bubblewrap]}\nmcp:\n" + mcpSection;
        try {
            fx.enrollAndStart();
            return new McpAgent(fx, McpEndpoint.start(fx.cp.agents(), new InetSocketAddress("127.0.0.1", 0), TOKEN));
        } catch (Exception e) {
            fx.close();
            throw e;
        }
    }

    @Override
    public void close() {
        endpoint.close();
        fx.close();
    }
}
