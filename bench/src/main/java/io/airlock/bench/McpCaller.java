package io.airlock.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark's MCP client: Streamable HTTP by hand on the JDK's HttpClient, the same code for
 * every target, so what differs between rows is only what stands between it and the server.
 * Each call reads the whole response (JSON or SSE) and checks it holds the request's result.
 */
final class McpCaller {
    static final String PROTOCOL = "2025-06-18";
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(10)).build();
    private final AtomicLong ids = new AtomicLong(100);

    /** One MCP endpoint and the headers its door wants (a bearer token for the control plane's). */
    record Target(String name, URI url, Map<String, String> headers) {}

    /** An initialized session at a target. */
    record Session(Target target, String id) {}

    Session open(Target target) throws IOException, InterruptedException {
        HttpResponse<String> r = post(target, null, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\""
                + PROTOCOL + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"airlock-bench\",\"version\":\"1\"}}}", HttpResponse.BodyHandlers.ofString());
        String id = r.headers().firstValue("mcp-session-id").orElse(null);
        if (r.statusCode() != 200 || id == null || !r.body().contains("\"result\"")) {
            throw new IOException(target.name() + ": initialize answered " + r.statusCode() + " " + abbreviate(r.body()));
        }
        Session s = new Session(target, id);
        HttpResponse<String> ack = post(target, id, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", HttpResponse.BodyHandlers.ofString());
        if (ack.statusCode() / 100 != 2) {
            throw new IOException(target.name() + ": notifications/initialized answered " + ack.statusCode());
        }
        return s;
    }

    void close(Session s) throws IOException, InterruptedException {
        HttpRequest.Builder b = request(s.target(), s.id()).DELETE();
        http.send(b.build(), HttpResponse.BodyHandlers.discarding());
    }

    /** A tools/call; the size of the whole response body. */
    long call(Session s, String tool, String arguments) throws IOException, InterruptedException {
        long id = ids.incrementAndGet();
        HttpResponse<InputStream> r = post(s.target(), s.id(), "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\""
                + tool + "\",\"arguments\":" + arguments + "}}", HttpResponse.BodyHandlers.ofInputStream());
        byte[] body;
        try (InputStream in = r.body()) {
            body = in.readAllBytes();
        }
        // The id and the "result" key sit at either end of the message, whatever order the server writes them in.
        String tail = new String(body, Math.max(0, body.length - 200), Math.min(200, body.length), StandardCharsets.UTF_8);
        String head = new String(body, 0, Math.min(200, body.length), StandardCharsets.UTF_8);
        if (r.statusCode() != 200 || !(head + tail).contains("\"result\"") || !(head + tail).contains("\"id\":" + id)) {
            throw new IOException(s.target().name() + ": tools/call " + tool + " answered " + r.statusCode() + " " + abbreviate(head + " ... " + tail));
        }
        return body.length;
    }

    private <T> HttpResponse<T> post(Target t, String session, String json, HttpResponse.BodyHandler<T> handler)
            throws IOException, InterruptedException {
        return http.send(request(t, session).POST(HttpRequest.BodyPublishers.ofString(json)).build(), handler);
    }

    private HttpRequest.Builder request(Target t, String session) {
        HttpRequest.Builder b = HttpRequest.newBuilder(t.url()).timeout(TIMEOUT).header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream");
        t.headers().forEach(b::header);
        if (session != null) {
            b.header("Mcp-Session-Id", session).header("Mcp-Protocol-Version", PROTOCOL);
        }
        return b;
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }
}
