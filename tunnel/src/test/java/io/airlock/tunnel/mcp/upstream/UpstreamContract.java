package io.airlock.tunnel.mcp.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.tunnel.mcp.McpAudit;
import io.airlock.tunnel.mcp.McpPolicy;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpServerSpec;
import io.airlock.tunnel.mcp.McpTunnel;
import io.airlock.tunnel.mcp.ResponseSink;
import io.airlock.tunnel.mcp.identity.CallerTokens;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every kind of MCP upstream does through the tunnel, with a real server (the everything
 * server from npm): a session opens and lists tools; the upstream dying in the middle of a
 * streamed call ends the caller's response with an upstream error it can parse, never a hang;
 * and a request to an upstream that is gone is answered at once with a JSON-RPC error. Each
 * transport supplies its spec and how to cut it.
 */
abstract class UpstreamContract {
    static final String SERVER = "everything";
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Long enough for every call here but the stalled one (a streamed call is cut after its first progress). */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(8);

    @TempDir
    Path dir;

    McpTunnel tunnel;
    final List<Map<String, Object>> audit = new CopyOnWriteArrayList<>();

    /** The server's spec; the transport starts whatever it needs. */
    abstract McpServerSpec.Http http() throws Exception;

    abstract McpServerSpec.Stdio stdio() throws Exception;

    /** Makes the upstream die now, as a crash or a cut network would. */
    abstract void cut() throws Exception;

    /** The upstream's processes: stopped (SIGSTOP) they hold their connections and pipes open and answer nothing, as behind a black hole. */
    abstract List<ProcessHandle> processes();

    static void signal(List<ProcessHandle> processes, String signal) throws Exception {
        for (ProcessHandle p : processes) {
            new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @BeforeEach
    void open() throws Exception {
        EverythingServer.require();
        McpServerSpec.Http http = http();
        McpServerSpec.Stdio stdio = http == null ? stdio() : null;
        McpServerSpec spec = new McpServerSpec(SERVER, http, stdio, McpPolicy.allowAll(SERVER),
                new McpServerSpec.Limits(4, REQUEST_TIMEOUT, Duration.ofMinutes(5), 1 << 20, 16 << 20));
        tunnel = new McpTunnel(List.of(spec), UpstreamAddresses.defaults(), CallerTokens.loadOrCreate(dir, "ag-contract", Duration.ofMinutes(5)),
                "Airlock-Caller", new McpAudit() {
                    @Override
                    public void record(Map<String, Object> fields) {
                        audit.add(fields);
                    }

                    @Override
                    public String hash(String value) {
                        return Integer.toHexString(value.hashCode());
                    }
                });
    }

    @AfterEach
    void close() {
        if (tunnel != null) {
            tunnel.close();
        }
    }

    /** A response as the caller gets it. */
    static final class Response implements ResponseSink {
        volatile int status;
        volatile Map<String, String> headers = Map.of();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        final CompletableFuture<Void> ended = new CompletableFuture<>();

        @Override
        public void head(int status, Map<String, String> headers) {
            this.status = status;
            this.headers = headers;
        }

        @Override
        public synchronized void body(byte[] bytes, int offset, int length) {
            body.write(bytes, offset, length);
        }

        @Override
        public void end() {
            ended.complete(null);
        }

        synchronized String text() {
            return body.toString(StandardCharsets.UTF_8);
        }
    }

    McpTunnel.Result post(String json, String session, Response into) throws Exception {
        Map<String, String> headers = new java.util.HashMap<>(Map.of("content-type", "application/json",
                "accept", "application/json, text/event-stream", "mcp-protocol-version", "2025-06-18"));
        if (session != null) {
            headers.put("mcp-session-id", session);
        }
        return tunnel.exchange(new McpRequest(SERVER, "POST", headers, json.getBytes(StandardCharsets.UTF_8),
                new McpRequest.Caller("user-1", "agent-1", "s-1")), into);
    }

    String initialize() throws Exception {
        Response r = new Response();
        post("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
                + "\"capabilities\":{},\"clientInfo\":{\"name\":\"contract\",\"version\":\"1\"}}}", null, r);
        assertEquals(200, r.status, r.text());
        assertTrue(r.text().contains("serverInfo"), r.text());
        String session = r.headers.get("mcp-session-id");
        assertTrue(session != null && !session.isEmpty(), "a session id: " + r.headers);
        Response ack = new Response();
        post("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", session, ack);
        assertTrue(ack.status == 202 || ack.status == 200, "initialized acknowledged: " + ack.status);
        return session;
    }

    @Test
    void aSessionOpensAndListsTools() throws Exception {
        String session = initialize();
        Response tools = new Response();
        post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", session, tools);
        assertEquals(200, tools.status, tools.text());
        assertTrue(tools.text().contains("\"echo\""), tools.text());
        assertTrue(audit.stream().anyMatch(a -> "tools/list".equals(a.get("method"))), audit.toString());
    }

    @Test
    void anUpstreamThatDiesMidStreamEndsTheResponseWithAnErrorTheCallerCanParse() throws Exception {
        String session = initialize();
        Response call = new Response();
        CompletableFuture<McpTunnel.Result> running = CompletableFuture.supplyAsync(() -> {
            try {
                return post("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"trigger-long-running-operation\","
                        + "\"arguments\":{\"duration\":30,\"steps\":30},\"_meta\":{\"progressToken\":\"p1\"}}}", session, call);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!call.text().contains("notifications/progress") && System.nanoTime() < deadline && !running.isDone()) {
            Thread.sleep(50);
        }
        assertTrue(call.text().contains("notifications/progress"), "progress before the cut: " + call.text());
        cut();
        running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(call.ended.isDone(), "the caller's response ended");
        assertTrue(call.text().contains(Integer.toString(McpErrors.UPSTREAM_UNAVAILABLE)) && call.text().contains("\"id\":3"),
                "the call got an upstream error event with its id: " + call.text());
    }

    @Test
    void aRequestToAnUpstreamThatIsGoneIsAnsweredAtOnceWithAnError() throws Exception {
        String session = initialize();
        cut();
        Response r = new Response();
        long started = System.nanoTime();
        post("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}", session, r);
        assertTrue(r.ended.isDone(), "answered");
        assertTrue(r.status >= 400, "an error status: " + r.status + " " + r.text());
        assertTrue(r.text().contains(Integer.toString(McpErrors.UPSTREAM_UNAVAILABLE))
                || r.text().contains(Integer.toString(McpErrors.SESSION_NOT_FOUND)), r.text());
        assertTrue(System.nanoTime() - started < WAIT.toNanos(), "not a wait for a timeout");
    }

    @Test
    void anUpstreamThatStopsAnsweringGetsATimeoutErrorAfterRequestTimeout() throws Exception {
        String session = initialize();
        List<ProcessHandle> stalled = processes();
        signal(stalled, "STOP");
        try {
            Response r = new Response();
            post("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}", session, r);
            assertTrue(r.ended.isDone(), "answered");
            assertTrue(r.text().contains(Integer.toString(McpErrors.UPSTREAM_TIMEOUT)) && r.text().contains("\"id\":5"),
                    "a timeout error for the request: " + r.status + " " + r.text());
        } finally {
            signal(stalled, "CONT");
        }
    }
}
