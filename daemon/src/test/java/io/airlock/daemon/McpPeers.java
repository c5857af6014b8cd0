package io.airlock.daemon;

import io.airlock.driver.Prerequisites;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The real MCP peers from npm in {@code mcp-peers/} (installed by .ci/run): their paths, and starting the everything server. */
final class McpPeers {
    private McpPeers() {}

    static Path dir() {
        return Path.of(System.getProperty("airlock.mcpPeers", "../mcp-peers")).toAbsolutePath().normalize();
    }

    static Path everything() {
        return dir().resolve("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    }

    /** Fails (under CI) or skips unless node and the npm packages are there. */
    static void require() {
        Prerequisites.requireExecutable("node", "install Debian's nodejs");
        Prerequisites.require("the npm packages of mcp-peers/", Files.exists(everything()) ? Optional.empty()
                : Optional.of(everything() + " is missing; run 'npm install --no-package-lock' in " + dir()));
    }

    static String node() {
        return Prerequisites.findOnPath("node").orElseThrow().toString();
    }

    /** The everything server over Streamable HTTP on {@code port} (it binds all interfaces; we only ever dial loopback). */
    static Process everythingHttp(int port) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(node(), everything().toString(), "streamableHttp").redirectErrorStream(true)
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
