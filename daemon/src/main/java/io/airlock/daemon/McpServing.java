package io.airlock.daemon;

import io.airlock.core.audit.AuditTrail;
import io.airlock.core.config.DaemonConfig;
import io.airlock.daemon.admin.DaemonMetrics;
import io.airlock.daemon.gateway.McpGateway;
import io.airlock.tunnel.mcp.McpAudit;
import io.airlock.tunnel.mcp.McpTunnel;
import io.airlock.tunnel.mcp.identity.CallerTokens;
import java.io.IOException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's MCP side, whole: the caller-identity keys, the tunnel the control link's
 * exchanges go through, and (with {@code mcp.gateway}) the gateway listener with a tunnel of its
 * own (its sessions do not belong to the control link). Audited and counted from the start.
 *
 * @param gatewayTunnel null, as {@code gateway}, when mcp.gateway is off
 */
record McpServing(CallerTokens callerTokens, McpTunnel tunnel, McpTunnel gatewayTunnel, McpGateway gateway) implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(McpServing.class);

    /** Null when mcp.servers is empty. */
    static McpServing start(DaemonConfig config, String agentId, AuditTrail audit, DaemonMetrics metrics) throws IOException {
        if (!config.mcp().enabled()) {
            return null;
        }
        CallerTokens tokens = CallerTokens.loadOrCreate(config.stateDir().resolve("mcp"), agentId, config.mcp().identityTtl());
        McpAudit recorded = new McpAudit() {
            @Override
            public void record(Map<String, Object> fields) {
                metrics.mcp(String.valueOf(fields.get("server")), String.valueOf(fields.get("outcome")));
                audit.record("mcp", fields);
            }

            @Override
            public String hash(String value) {
                return audit.hashed(value);
            }
        };
        var tunnel = new McpTunnel(config.mcp().specs(), config.mcp().addresses(), tokens, config.mcp().identityHeader(), recorded);
        log.info("MCP tunnel: servers {}", tunnel.servers());
        if (config.mcp().gateway() == null) {
            return new McpServing(tokens, tunnel, null, null);
        }
        var gatewayTunnel = new McpTunnel(config.mcp().specs(), config.mcp().addresses(), tokens, config.mcp().identityHeader(), recorded);
        try {
            McpGateway gateway = McpGateway.start(config.mcp().gateway(), gatewayTunnel, config.mcp().maxExchanges());
            log.info("MCP gateway: serving {} at SERVER.{} on {}", gatewayTunnel.servers(), config.mcp().gateway().tunnelDomain(),
                    gateway.address());
            return new McpServing(tokens, tunnel, gatewayTunnel, gateway);
        } catch (IOException e) {
            gatewayTunnel.close();
            tunnel.close();
            throw new StartupException("cannot serve mcp.gateway: " + e.getMessage(), e);
        }
    }

    /** Open sessions by server through the control link's tunnel. */
    Map<String, Integer> sessions() {
        return tunnel.sessions();
    }

    /** The gateway first (no new exchanges), then the tunnels: stdio servers stop, HTTP sessions are ended upstream. */
    @Override
    public void close() {
        if (gateway != null) {
            gateway.close();
            gatewayTunnel.close();
        }
        tunnel.close();
    }
}
