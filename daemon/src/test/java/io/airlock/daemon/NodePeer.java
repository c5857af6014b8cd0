package io.airlock.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * A peer script of {@code mcp-peers/} run with node, each stdout line a JSON object it reports
 * (what reached it, what it got), collected as they come; stderr goes to the test's.
 */
final class NodePeer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Process process;
    private final List<JsonNode> lines = new CopyOnWriteArrayList<>();
    private final String name;

    private NodePeer(String name, Process process) {
        this.name = name;
        this.process = process;
        Thread.ofVirtual().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    try {
                        lines.add(JSON.readTree(line));
                    } catch (Exception e) {
                        lines.add(JSON.createObjectNode().put("unparsed", line));
                    }
                }
            } catch (Exception e) {
                // the process is gone
            }
        });
    }

    static NodePeer start(String script, String... args) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of(McpPeers.node(), McpPeers.dir().resolve(script).toString()));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        return new NodePeer(script, p);
    }

    /** The first line matching, waiting up to {@code timeout}. */
    JsonNode await(Predicate<JsonNode> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode n : lines) {
                if (match.test(n)) {
                    return n;
                }
            }
            if (!process.isAlive() && lines.stream().noneMatch(match)) {
                Thread.sleep(100); // the reader may still be draining
                for (JsonNode n : lines) {
                    if (match.test(n)) {
                        return n;
                    }
                }
                throw new AssertionError(name + " exited (" + process.exitValue() + ") without the line expected; it said: " + lines);
            }
            Thread.sleep(20);
        }
        throw new AssertionError(name + " did not say what was expected within " + timeout + "; it said: " + lines);
    }

    JsonNode await(String field, String value) throws InterruptedException {
        return await(n -> n.path(field).asText().equals(value), Duration.ofSeconds(30));
    }

    /** For a server: the port it reports listening on. */
    int port() throws InterruptedException {
        return await("event", "listening").path("port").asInt();
    }

    /** For a client: waits until it exits, then all it said. */
    List<JsonNode> finish(Duration timeout) throws Exception {
        if (!process.waitFor(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(name + " did not finish within " + timeout + "; it said: " + lines);
        }
        Thread.sleep(100);
        return List.copyOf(lines);
    }

    List<JsonNode> lines() {
        return List.copyOf(lines);
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
