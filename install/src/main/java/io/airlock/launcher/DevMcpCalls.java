package io.airlock.launcher;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The MCP step of {@code airlock dev}: the MCP Java SDK's own client, unchanged, calls the
 * private {@link DevInventoryServer} at the control plane's endpoint, through the agent's
 * tunnel. Shows a tool's answer, the caller identity the server verified, and a denied tool.
 */
final class DevMcpCalls {
    private final PrintStream out;

    DevMcpCalls(PrintStream out) {
        this.out = out;
    }

    /** @return what happened, for the summary; null when a step did not go as it should */
    String run(String url, String bearerToken, String agentId, Duration timeout) {
        URI uri = URI.create(url);
        HttpClientStreamableHttpTransport transport = HttpClientStreamableHttpTransport.builder(uri.getScheme() + "://" + uri.getAuthority())
                .endpoint(uri.getPath())
                .requestBuilder(HttpRequest.newBuilder()
                        .header("Authorization", "Bearer " + bearerToken)
                        .header("Airlock-Caller-User", "dev@localhost")
                        .header("Airlock-Caller-Agent", "airlock-dev")
                        .header("Airlock-Caller-Session", "dev-" + agentId.substring(0, Math.min(8, agentId.length()))))
                .connectTimeout(timeout)
                .build();
        McpSyncClient client = McpClient.sync(transport).requestTimeout(timeout).initializationTimeout(timeout)
                .clientInfo(new McpSchema.Implementation("airlock-dev", "1")).build();
        try {
            McpSchema.InitializeResult init = client.initialize();
            out.printf("      initialized %s %s (protocol %s) at %s%n", init.serverInfo().name(), init.serverInfo().version(),
                    init.protocolVersion(), url);
            String tools = client.listTools().tools().stream().map(McpSchema.Tool::name).collect(Collectors.joining(", "));
            out.println("      tools: " + tools);

            McpSchema.CallToolResult host = client.callTool(new McpSchema.CallToolRequest("find_host", Map.of("name", "db-1")));
            out.println("      find_host db-1 -> " + text(host));
            McpSchema.CallToolResult who = client.callTool(new McpSchema.CallToolRequest("whoami", Map.of()));
            out.println("      whoami -> " + text(who));

            String refusal = null;
            try {
                client.callTool(new McpSchema.CallToolRequest(DevInventoryServer.DENIED_TOOL, Map.of()));
            } catch (McpError e) {
                refusal = e.getMessage();
            }
            out.println("      " + DevInventoryServer.DENIED_TOOL + " -> " + (refusal != null ? "refused: " + refusal : "NOT REFUSED"));
            boolean ok = !Boolean.TRUE.equals(host.isError()) && !Boolean.TRUE.equals(who.isError())
                    && text(who).startsWith("verified: user dev@localhost") && refusal != null;
            return ok ? "MCP tools called through the tunnel (caller verified, denied tool refused)" : null;
        } catch (RuntimeException e) {
            out.println("      MCP call FAILED: " + e);
            return null;
        } finally {
            client.closeGracefully(); // ends the MCP session: the agent stops the server's process
        }
    }

    private static String text(McpSchema.CallToolResult result) {
        return result.content().stream().map(c -> c instanceof McpSchema.TextContent t ? t.text() : c.type())
                .collect(Collectors.joining(" "));
    }
}
