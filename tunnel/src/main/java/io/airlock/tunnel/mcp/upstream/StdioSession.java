package io.airlock.tunnel.mcp.upstream;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.tunnel.mcp.McpServerSpec;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import io.airlock.tunnel.mcp.jsonrpc.RpcMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MCP session with a stdio server: its own process, whose stdin takes the caller's
 * messages, one per line, and whose stdout lines are routed back: a response to the stream of
 * the POST that asked, a progress notification to the stream whose request named its token,
 * anything else to the session's GET stream (or, lacking one, to an open POST stream; lacking
 * both, to a short backlog the next GET stream receives first).
 */
final class StdioSession {
    private static final Logger log = LoggerFactory.getLogger(StdioSession.class);
    private static final int BACKLOG = 100;
    private static final int STREAM_QUEUE = 256;

    /** SSE events for one response stream, {@link #END} ending it; {@code pending} and {@code progressTokens} are guarded by the session's lock. */
    final class Stream {
        private static final byte[] END = new byte[0];
        final ArrayBlockingQueue<byte[]> events = new ArrayBlockingQueue<>(STREAM_QUEUE);
        final Set<String> pending = new HashSet<>();
        final Set<String> progressTokens = new HashSet<>();
        volatile boolean closed;

        /** Queues an event, waiting while the caller is slow (that holds the process's stdout back); false once closed. */
        boolean offer(byte[] event) {
            try {
                while (!closed) {
                    if (events.offer(event, 100, TimeUnit.MILLISECONDS)) {
                        return true;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        }

        /** The next event, null when none came within {@code max}, or an empty array once the stream is over. */
        byte[] next(Duration max) throws InterruptedException {
            return events.poll(max.toMillis(), TimeUnit.MILLISECONDS);
        }

        void finish() {
            closed = true;
            events.offer(END);
        }

        boolean isEnd(byte[] event) {
            return event == END;
        }
    }

    private final String id;
    private final String server;
    private final Process process;
    private final OutputStream stdin;
    private final long maxLine;
    private final Object lock = new Object();
    private final Map<String, Stream> byRequest = new HashMap<>();
    private final Map<String, Stream> byProgressToken = new HashMap<>();
    private final List<Stream> posts = new ArrayList<>();
    private final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
    private Stream listener;
    private volatile String endedBecause;

    StdioSession(String id, McpServerSpec spec) throws IOException {
        this.id = id;
        this.server = spec.name();
        this.maxLine = spec.limits().maxResponseBytes();
        ProcessBuilder pb = new ProcessBuilder(spec.stdio().command());
        Map<String, String> env = pb.environment();
        Map<String, String> keep = new HashMap<>();
        for (String name : List.of("PATH", "HOME", "LANG", "TZ")) {
            String v = env.get(name);
            if (v != null) {
                keep.put(name, v);
            }
        }
        env.clear();
        env.putAll(keep);
        env.putAll(spec.stdio().env());
        if (spec.stdio().workingDir() != null) {
            pb.directory(spec.stdio().workingDir().toFile());
        }
        this.process = pb.start();
        this.stdin = process.getOutputStream();
        Thread.ofVirtual().name("mcp-" + server + "-stdout").start(this::readStdout);
        Thread.ofVirtual().name("mcp-" + server + "-stderr").start(this::drainStderr);
    }

    String id() {
        return id;
    }

    long pid() {
        return process.pid();
    }

    /** Why the session is over, or null while it lives. */
    String endedBecause() {
        return endedBecause;
    }

    /** Writes one message (a line) to the process. */
    void write(JsonNode message) throws IOException {
        byte[] line = JsonRpcMessages.JSON.writeValueAsBytes(message);
        synchronized (stdin) {
            stdin.write(line);
            stdin.write('\n');
            stdin.flush();
        }
    }

    /** A stream for the answers to {@code requests} (ids as JSON text) and their progress notifications. */
    Stream openPost(List<RpcMessage> requests) {
        Stream s = new Stream();
        synchronized (lock) {
            for (RpcMessage m : requests) {
                String key = m.id().toString();
                s.pending.add(key);
                byRequest.put(key, s);
                JsonNode token = m.progressToken();
                if (token != null) {
                    s.progressTokens.add(token.toString());
                    byProgressToken.put(token.toString(), s);
                }
            }
            posts.add(s);
        }
        return s;
    }

    /** The session's GET stream; null when one is open already. It receives the backlog first. */
    Stream openListener() {
        synchronized (lock) {
            if (listener != null && !listener.closed) {
                return null;
            }
            Stream s = new Stream();
            while (!backlog.isEmpty() && s.events.remainingCapacity() > 1) {
                s.events.add(backlog.poll());
            }
            listener = s;
            return s;
        }
    }

    /** True once every request of {@code s} was answered. */
    boolean answered(Stream s) {
        synchronized (lock) {
            return s.pending.isEmpty();
        }
    }

    void release(Stream s) {
        s.closed = true;
        synchronized (lock) {
            s.pending.forEach(byRequest::remove);
            s.progressTokens.forEach(byProgressToken::remove);
            posts.remove(s);
            if (listener == s) {
                listener = null;
            }
        }
    }

    private static final byte[] EVENT_HEAD = "event: message\ndata: ".getBytes(StandardCharsets.US_ASCII);

    /**
     * What routing needs from a message: its id, whether it has a method, its progress token;
     * read with the streaming parser, skipping the rest (a large result is never built as a tree).
     */
    record RouteKeys(String id, boolean hasId, boolean hasMethod, String progressToken) {
        static RouteKeys of(byte[] line) throws IOException {
            String id = null;
            String token = null;
            boolean hasId = false;
            boolean hasMethod = false;
            try (JsonParser p = JsonRpcMessages.JSON.createParser(line)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    p.skipChildren();
                    return new RouteKeys(null, false, false, null);
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    p.nextToken();
                    switch (field) {
                        case "id" -> {
                            JsonNode v = p.readValueAsTree();
                            hasId = true;
                            id = v == null || v.isNull() ? null : v.toString();
                        }
                        case "method" -> {
                            hasMethod = true;
                            p.skipChildren();
                        }
                        case "params" -> token = progressToken(p);
                        default -> p.skipChildren();
                    }
                }
            }
            return new RouteKeys(id, hasId, hasMethod, token);
        }

        private static String progressToken(JsonParser p) throws IOException {
            if (p.currentToken() != JsonToken.START_OBJECT) {
                p.skipChildren();
                return null;
            }
            String token = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("progressToken")) {
                    JsonNode v = p.readValueAsTree();
                    token = v == null ? null : v.toString();
                } else {
                    p.skipChildren();
                }
            }
            return token;
        }
    }

    private void readStdout() {
        String why;
        try (InputStream out = process.getInputStream()) {
            BoundedLineReader in = new BoundedLineReader(out, (int) Math.min(Integer.MAX_VALUE - 64, maxLine));
            why = null;
            byte[] line;
            while ((line = in.readLine()) != null) {
                if (!isBlank(line)) {
                    route(line);
                }
            }
        } catch (BoundedLineReader.TooLongException e) {
            why = "MCP server '" + server + "' wrote a message longer than mcp.servers." + server + ".max_response_bytes (" + maxLine + ")";
        } catch (IOException e) {
            why = "reading its output failed: " + e.getMessage();
        }
        end(why);
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private void route(byte[] line) {
        RouteKeys keys;
        try {
            keys = RouteKeys.of(line);
        } catch (IOException e) {
            log.info("MCP server {} session {}: not JSON on stdout, skipped: {}", server, id,
                    abbreviate(new String(line, 0, Math.min(line.length, 400), StandardCharsets.UTF_8)));
            return;
        }
        byte[] event = new byte[EVENT_HEAD.length + line.length + 2];
        System.arraycopy(EVENT_HEAD, 0, event, 0, EVENT_HEAD.length);
        System.arraycopy(line, 0, event, EVENT_HEAD.length, line.length);
        event[event.length - 2] = '\n';
        event[event.length - 1] = '\n';
        Stream target;
        boolean answers = false;
        synchronized (lock) {
            String key = keys.id();
            if (key != null && !keys.hasMethod() && byRequest.containsKey(key)) {
                target = byRequest.remove(key);
                target.pending.remove(key);
                answers = true;
            } else if (keys.progressToken() != null && !keys.hasId() && byProgressToken.containsKey(keys.progressToken())) {
                target = byProgressToken.get(keys.progressToken());
            } else if (listener != null && !listener.closed) {
                target = listener;
            } else if (!posts.isEmpty()) {
                target = posts.get(posts.size() - 1);
            } else {
                if (backlog.size() == BACKLOG) {
                    backlog.poll();
                    log.info("MCP server {} session {}: backlog full, dropped its oldest message", server, id);
                }
                backlog.add(event);
                return;
            }
        }
        if (!target.offer(event)) {
            log.debug("MCP server {} session {}: a message for a closed stream was dropped", server, id);
            return;
        }
        if (answers) {
            boolean done;
            synchronized (lock) {
                done = target.pending.isEmpty();
            }
            if (done) {
                target.finish();
            }
        }
    }

    private void drainStderr() {
        try (BufferedReader err = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = err.readLine()) != null) {
                log.debug("MCP server {} session {} stderr: {}", server, id, abbreviate(line));
            }
        } catch (IOException e) {
            // the process is gone
        }
    }

    /** Marks the session over and ends every stream, whose callers then get {@code why}. */
    private void end(String why) {
        if (why == null) {
            why = process.isAlive() ? "the MCP server closed its output" : "the MCP server process exited";
            try {
                if (process.waitFor(1, TimeUnit.SECONDS)) {
                    why = "the MCP server process exited with code " + process.exitValue();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (endedBecause == null) {
            endedBecause = why;
        }
        List<Stream> all;
        synchronized (lock) {
            all = new ArrayList<>(posts);
            if (listener != null) {
                all.add(listener);
            }
        }
        all.forEach(Stream::finish);
    }

    /** Stops the process and everything it started: stdin closed, then SIGTERM, then SIGKILL. */
    void close(String why) {
        if (endedBecause == null) {
            endedBecause = why;
        }
        List<ProcessHandle> tree = process.descendants().toList();
        try {
            stdin.close();
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroy();
                tree.forEach(ProcessHandle::destroy);
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        for (ProcessHandle child : tree) {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        end(why);
    }

    boolean isAlive() {
        return process.isAlive() && endedBecause == null;
    }

    private static String abbreviate(String line) {
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }
}
