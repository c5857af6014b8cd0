package io.airlock.tunnel.mcp.upstream;

import io.airlock.driver.Prerequisites;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The MCP everything server from npm ({@code mcp-peers/}), over Streamable HTTP or as a stdio
 * command. In tunnel's test-jar: the daemon's tests start it the same way.
 */
public final class EverythingServer {
    private EverythingServer() {}

    public static Path script() {
        return Path.of(System.getProperty("airlock.mcpPeers", "../mcp-peers")).toAbsolutePath().normalize()
                .resolve("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    }

    /** Fails (under CI) or skips unless node and the npm packages are there. */
    public static void require() {
        Prerequisites.requireExecutable("node", "install Debian's nodejs");
        Prerequisites.require("the npm packages of mcp-peers/", Files.exists(script()) ? Optional.empty()
                : Optional.of(script() + " is missing; run 'npm install --no-package-lock' in " + script().getParent()));
    }

    public static List<String> stdioCommand() {
        return List.of(node(), script().toString(), "stdio");
    }

    public static String node() {
        return Prerequisites.findOnPath("node").orElseThrow().toString();
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts it over Streamable HTTP on {@code port} and waits until it listens (it binds every interface; we dial loopback). */
    public static Process http(int port) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(node(), script().toString(), "streamableHttp").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PORT", Integer.toString(port));
        Process p = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return p;
            } catch (IOException e) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("the everything server exited with " + p.exitValue());
                }
                Thread.sleep(100);
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException("the everything server did not listen on " + port + " within 30s");
    }
}
