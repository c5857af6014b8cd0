package io.airlock.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.daemon.admin.AdminEndpoint;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code airlock status}: the running daemon's /status, from its loopback admin endpoint. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Show the running daemon's state (its admin endpoint on loopback).",
            "Exits 0 when it is ready (its control connection is up, when enrolled, and every work-queue environment's last poll "
                + "reached the queue), 1 when it runs but is not ready, 2 when it cannot be reached."})
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions config;

    /** A status document is a few KiB; more is not the daemon talking. */
    private static final int MAX_STATUS_BYTES = 1 << 20;

    @Option(names = "--json", description = "Print the JSON as the daemon serves it")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Path stateDir = config.load().stateDir();
        Path addressFile = stateDir.resolve(AdminEndpoint.ADDRESS_FILE);
        if (!Files.exists(addressFile)) {
            System.err.println("error: no " + addressFile + ": the daemon has not run with this state directory (check --state-dir / --config)");
            return 2;
        }
        String address = Files.readString(addressFile).strip();
        String body;
        // HttpURLConnection, not java.net.http.HttpClient: one plain GET on loopback, and the newer client
        // costs a short command 200-300 ms to start (TLS context, selector thread) before it sends a byte.
        HttpURLConnection http = (HttpURLConnection) URI.create("http://" + address + "/status").toURL().openConnection();
        try {
            http.setConnectTimeout(3_000);
            http.setReadTimeout(5_000);
            try (InputStream in = http.getResponseCode() < 400 ? http.getInputStream() : http.getErrorStream()) {
                body = in == null ? "" : new String(in.readNBytes(MAX_STATUS_BYTES), StandardCharsets.UTF_8);
            }
        } catch (ConnectException e) {
            System.err.println("error: no daemon answers at " + address + " (connection refused): it is not running with this state "
                    + "directory; start it ('systemctl start airlock', or 'airlock run')");
            return 2;
        } catch (IOException e) {
            System.err.println("error: the daemon's admin endpoint at " + address + " does not answer ("
                    + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()) + "); is 'airlock run' running?");
            return 2;
        } finally {
            http.disconnect();
        }
        JsonNode s = new ObjectMapper().readTree(body);
        if (json) {
            System.out.println(body);
        } else {
            String link = !s.has("control_plane") ? "not enrolled (work-queue environments only)"
                    : s.path("ready").asBoolean() ? "connected to " + s.path("control_plane").asText()
                    : "no control connection to " + s.path("control_plane").asText();
            System.out.printf("agent %s (version %s): %s%s%n", s.path("agent_id").asText(), s.path("version").asText(),
                    s.path("ready").asBoolean() ? "ready, " : "NOT READY: ", link);
            s.path("environments").fields().forEachRemaining(e -> System.out.printf(
                    "environment %s: %s, %d session(s) now, %d served, tool calls %d ok / %d error / %d denied%s%n", e.getKey(),
                    e.getValue().path("ready").asBoolean() ? "polling" : "NOT POLLING", e.getValue().path("sessions_active").asInt(),
                    e.getValue().path("sessions_served").asLong(), e.getValue().path("tool_calls_ok").asLong(),
                    e.getValue().path("tool_calls_error").asLong(), e.getValue().path("tool_calls_denied").asLong(),
                    e.getValue().path("last_error").asText().isEmpty() ? "" : " (last error: " + e.getValue().path("last_error").asText() + ")"));
            System.out.println("sandboxes: " + s.path("sandboxes") + ", commands in flight: " + s.path("in_flight_commands").asInt());
            for (JsonNode d : s.path("drivers")) {
                System.out.printf("driver %s%s: %s%n", d.path("name").asText(), d.path("default").asBoolean() ? " (default)" : "",
                        d.path("available").asBoolean() ? "available" : "UNAVAILABLE: " + d.path("reason").asText());
            }
            System.out.println("audit log: " + s.path("audit_dir").asText());
        }
        return s.path("ready").asBoolean() ? 0 : 1;
    }
}
