package io.airlock.launcher;

import io.airlock.tunnel.mcp.identity.CallerTokenVerifier;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SignatureException;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * The private MCP server of {@code airlock dev}: a host inventory over stdio, built on the MCP
 * Java SDK's server, which the dev session's agent runs one process per MCP session. Its
 * {@code whoami} tool checks the caller token the agent adds to each request against the
 * agent's published key, as a private server that authorises per caller would. Usage:
 * {@code java -cp LIB/* io.airlock.launcher.DevInventoryServer JWKS_FILE}
 */
public final class DevInventoryServer {
    static final String NAME = "inventory";
    /** The tool the dev session's policy denies: it never reaches this process. */
    static final String DENIED_TOOL = "drop_inventory";
    private static final Map<String, String> HOSTS = Map.of(
            "db-1", "db-1.corp.internal 10.20.0.11 postgres 16, owner: data-platform",
            "build-7", "build-7.corp.internal 10.20.4.7 ci runner, owner: dev-productivity",
            "vault-2", "vault-2.corp.internal 10.20.9.2 secrets store, owner: security");

    private DevInventoryServer() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: DevInventoryServer JWKS_FILE");
            System.exit(2);
        }
        Path jwks = Path.of(args[0]);
        CountDownLatch stdinClosed = new CountDownLatch(1);
        // The SDK's stdio transport reads until end of input; the process ends with it, as stdio servers do.
        InputStream in = new FilterInputStream(System.in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                if (n < 0) {
                    stdinClosed.countDown();
                }
                return n;
            }
        };
        McpSyncServer server = McpServer.sync(new StdioServerTransportProvider(McpJsonDefaults.getMapper(), in, System.out))
                .serverInfo("airlock-dev-inventory", "1")
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .toolCall(tool("find_host", "Look up a host in the private inventory",
                        Map.of("name", Map.of("type", "string", "description", "host name, e.g. db-1"))), (exchange, call) -> {
                            String host = String.valueOf(call.arguments().get("name"));
                            String found = HOSTS.get(host);
                            return text(found != null ? found : "no host named " + host + " (known: " + String.join(", ", HOSTS.keySet()) + ")",
                                    found == null);
                        })
                .toolCall(tool("whoami", "Who the agent says is calling, checked against its published key", Map.of()),
                        (exchange, call) -> whoami(jwks, call))
                .toolCall(tool(DENIED_TOOL, "Delete the whole inventory", Map.of()),
                        (exchange, call) -> text("the inventory was dropped", false))
                .build();
        stdinClosed.await();
        server.closeGracefully();
    }

    private static McpSchema.CallToolResult whoami(Path jwks, McpSchema.CallToolRequest call) {
        Object token = call.meta() == null ? null : call.meta().get("io.airlock/caller");
        if (!(token instanceof String t)) {
            return text("no caller token in _meta[\"io.airlock/caller\"]", true);
        }
        try {
            CallerTokenVerifier.Caller caller = CallerTokenVerifier.fromJwks(Files.readString(jwks), Clock.systemUTC()).verify(t, NAME);
            return text("verified: user " + caller.user() + ", agent " + caller.agent() + ", session " + caller.session()
                    + ", issued by " + caller.issuer(), false);
        } catch (IOException | SignatureException e) {
            return text("caller token refused: " + e.getMessage(), true);
        }
    }

    private static McpSchema.Tool tool(String name, String description, Map<String, Object> properties) {
        return McpSchema.Tool.builder().name(name).description(description)
                .inputSchema(Map.of("type", "object", "properties", properties, "required", List.copyOf(properties.keySet())))
                .build();
    }

    private static McpSchema.CallToolResult text(String text, boolean error) {
        return McpSchema.CallToolResult.builder().addTextContent(text).isError(error).build();
    }
}
