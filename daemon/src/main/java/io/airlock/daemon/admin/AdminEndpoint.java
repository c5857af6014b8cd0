package io.airlock.daemon.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code /healthz} (the process serves), {@code /readyz} (a control connection is up: 503
 * otherwise), {@code /metrics} (Prometheus text format) and {@code /status} (JSON), on a
 * loopback address only. The JDK's HTTP server is enough for four read-only pages; two worker
 * threads bound what a scraper can cost. The bound address goes to {@code state_dir/admin.address}
 * for {@code airlock status}.
 */
public final class AdminEndpoint implements AutoCloseable {
    public static final String ADDRESS_FILE = "admin.address";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ExecutorService workers = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "admin-http");
        t.setDaemon(true);
        return t;
    });

    private AdminEndpoint(HttpServer server) {
        this.server = server;
    }

    public static AdminEndpoint start(InetSocketAddress listen, DaemonMetrics metrics, BooleanSupplier ready,
            Supplier<Map<String, Object>> status, Path stateDir, String callerJwks) throws IOException {
        // The JDK server waits for a request's bytes forever by default: a client that stalls would
        // hold one of the two workers. These are read when the server class loads, JVM-wide.
        System.setProperty("sun.net.httpserver.maxReqTime", System.getProperty("sun.net.httpserver.maxReqTime", "10"));
        System.setProperty("sun.net.httpserver.maxRspTime", System.getProperty("sun.net.httpserver.maxRspTime", "30"));
        if (!listen.getAddress().isLoopbackAddress()) {
            throw new IOException("admin.listen " + listen + " is not a loopback address (expected 127.0.0.1 or ::1)");
        }
        HttpServer server = HttpServer.create(listen, 16);
        AdminEndpoint endpoint = new AdminEndpoint(server);
        server.setExecutor(endpoint.workers);
        PrometheusTextFormatWriter text = new PrometheusTextFormatWriter(false); // no _created series
        server.createContext("/healthz", x -> reply(x, 200, "text/plain", "ok\n".getBytes(StandardCharsets.UTF_8)));
        server.createContext("/readyz", x -> {
            boolean up = ready.getAsBoolean();
            reply(x, up ? 200 : 503, "text/plain", (up ? "ready\n" : "not ready: no control connection\n").getBytes(StandardCharsets.UTF_8));
        });
        server.createContext("/metrics", x -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            text.write(out, metrics.registry.scrape());
            reply(x, 200, text.getContentType(), out.toByteArray());
        });
        server.createContext("/status", x -> reply(x, 200, "application/json", JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(status.get())));
        // The public key private MCP servers verify caller tokens with (also in state_dir/mcp/caller-jwks.json).
        server.createContext("/mcp/jwks.json", x -> {
            if (callerJwks == null) {
                reply(x, 404, "text/plain", "no MCP servers configured (mcp.servers), so no caller key\n".getBytes(StandardCharsets.UTF_8));
            } else {
                reply(x, 200, "application/jwk-set+json", callerJwks.getBytes(StandardCharsets.UTF_8));
            }
        });
        server.start();
        InetSocketAddress bound = server.getAddress();
        String hostPort = (bound.getAddress().getHostAddress().contains(":") ? "[" + bound.getAddress().getHostAddress() + "]"
                : bound.getAddress().getHostAddress()) + ":" + bound.getPort();
        Path tmp = stateDir.resolve(ADDRESS_FILE + ".tmp");
        Files.writeString(tmp, hostPort + "\n");
        Files.move(tmp, stateDir.resolve(ADDRESS_FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return endpoint;
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void reply(HttpExchange x, int status, String type, byte[] body) throws IOException {
        try (x) {
            if (!x.getRequestMethod().equals("GET") && !x.getRequestMethod().equals("HEAD")) {
                byte[] msg = "only GET\n".getBytes(StandardCharsets.UTF_8);
                x.sendResponseHeaders(405, msg.length);
                x.getResponseBody().write(msg);
                return;
            }
            x.getResponseHeaders().add("Content-Type", type);
            x.sendResponseHeaders(status, body.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        workers.shutdownNow();
    }
}
