package io.airlock.tunnel.mcp;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * One private MCP server of the registry: reached over Streamable HTTP ({@code http}) or run
 * as a process speaking stdio, one per MCP session ({@code stdio}); exactly one is set.
 */
public record McpServerSpec(String name, Http http, Stdio stdio, McpPolicy policy, Limits limits) {
    public McpServerSpec {
        if ((http == null) == (stdio == null)) {
            throw new IllegalArgumentException("mcp.servers." + name + ": set either url or command (exactly one)");
        }
    }

    /**
     * @param url           the server's Streamable HTTP endpoint
     * @param tls           for https: the context with the server's CA and our client certificate; null for the JDK's defaults
     * @param secretHeaders headers the agent adds, each value read from a local secret file
     */
    public record Http(URI url, SSLContext tls, Map<String, SecretFile> secretHeaders) {
        public Http {
            secretHeaders = Map.copyOf(secretHeaders);
        }
    }

    /** @param command argv of the server process; {@code env} is added to a minimal environment */
    public record Stdio(List<String> command, Map<String, String> env, Path workingDir) {
        public Stdio {
            command = List.copyOf(command);
            env = Map.copyOf(env);
        }
    }

    /**
     * @param maxSessions      concurrent MCP sessions (stdio: processes)
     * @param requestTimeout   how long a POST may take until the upstream has answered it in full
     * @param idleTimeout      a session unused this long is ended (stdio: its process stopped)
     * @param maxRequestBytes  largest POST body
     * @param maxResponseBytes largest response (an SSE stream counts as one response)
     */
    public record Limits(int maxSessions, Duration requestTimeout, Duration idleTimeout, long maxRequestBytes, long maxResponseBytes) {}
}
