package io.airlock.daemon;

import io.airlock.tunnel.mcp.upstream.EverythingServer;
import java.nio.file.Path;
import java.util.List;

/** The real MCP peers from npm in {@code mcp-peers/} (installed by ./airlock test): the everything server (started as tunnel's tests do) and the TypeScript SDK scenario. */
final class McpPeers {
    private McpPeers() {}

    static Path dir() {
        return Path.of(System.getProperty("airlock.mcpPeers", "../mcp-peers")).toAbsolutePath().normalize();
    }

    static Path everything() {
        return EverythingServer.script();
    }

    /** Fails (under CI) or skips unless node and the npm packages are there. */
    static void require() {
        EverythingServer.require();
    }

    static String node() {
        return EverythingServer.node();
    }

    /** The everything server over Streamable HTTP on {@code port} (it binds all interfaces; we only ever dial loopback). */
    static Process everythingHttp(int port) throws Exception {
        return EverythingServer.http(port);
    }

    /** Runs the TypeScript SDK scenario against {@code url}; its output lines (one JSON object per step). */
    static List<String> scenario(String url, String token, String deniedTool) throws Exception {
        Process p = new ProcessBuilder(node(), dir().resolve("scenario.mjs").toString(), url, token, deniedTool)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the scenario did not finish in 60s; output: " + out);
        }
        return out.lines().toList();
    }
}
