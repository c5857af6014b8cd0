package io.airlock.daemon.admin;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** What the daemon counts, under the {@code airlock_} prefix, plus the JVM's own metrics. */
public final class DaemonMetrics {
    final PrometheusRegistry registry = new PrometheusRegistry();
    private final Gauge connected;
    private final Counter reconnects;
    private final Counter commands;
    private final Histogram execSeconds;
    private final Histogram auditAppendSeconds;
    private final Gauge certificateExpiry;
    private final Counter renewals;
    private final Counter egressConnections;
    private final Counter mcpMessages;

    private final Collection<String> mcpServers;

    /**
     * Made first, before the parts it counts: each part registers what is read at a scrape
     * ({@link #sandboxes}, {@link #mcpSessions}, {@link #worker}) once it is built.
     *
     * @param mcpServers the configured MCP servers: their series exist from the start, at zero
     */
    public DaemonMetrics(Collection<String> mcpServers) {
        this.mcpServers = mcpServers;
        connected = Gauge.builder().name("airlock_connections").help("Control connections up (0 or 1)").register(registry);
        reconnects = Counter.builder().name("airlock_reconnects_total").help("Reconnects scheduled after the control connection was lost")
                .register(registry);
        commands = Counter.builder().name("airlock_commands_total").help("Commands handled, by action and outcome (OK or the error code)")
                .labelNames("action", "outcome").register(registry);
        execSeconds = Histogram.builder().name("airlock_exec_duration_seconds").help("How long execs ran")
                .classicOnly().classicUpperBounds(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600).register(registry);
        auditAppendSeconds = Histogram.builder().name("airlock_audit_append_seconds").help("Time to append (and, per durability, fsync) an audit record")
                .classicOnly().classicUpperBounds(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1).register(registry);
        certificateExpiry = Gauge.builder().name("airlock_certificate_expiry_timestamp_seconds")
                .help("When the agent certificate in use expires (Unix time); renewal starts at two thirds of its lifetime").register(registry);
        renewals = Counter.builder().name("airlock_certificate_renewals_total").help("Certificate renewal attempts, by outcome (ok, failed)")
                .labelNames("outcome").register(registry);
        egressConnections = Counter.builder().name("airlock_egress_connections_total")
                .help("Connections through the egress proxy, by decision (allow, deny, abandoned)").labelNames("decision").register(registry);
        mcpMessages = Counter.builder().name("airlock_mcp_messages_total")
                .help("JSON-RPC messages (and GET/DELETE exchanges) through the MCP tunnel, by server and outcome (ok, error, denied, "
                        + "accepted, failed, no_response)").labelNames("server", "outcome").register(registry);
        JvmMetrics.builder().register(registry);
        // Every series an alert may name exists from the start, at zero: an alert on rate() or
        // increase() of a series that appears only at its first event never fires for that event.
        renewals.labelValues("ok");
        renewals.labelValues("failed");
        for (String decision : EGRESS_DECISIONS) {
            egressConnections.labelValues(decision);
        }
        for (String server : mcpServers) {
            for (String outcome : MCP_OUTCOMES) {
                mcpMessages.labelValues(server, outcome);
            }
        }
    }

    private static final List<String> EGRESS_DECISIONS = List.of("allow", "deny", "abandoned");
    private static final List<String> MCP_OUTCOMES = List.of("ok", "error", "denied", "accepted", "failed", "no_response");

    public void connected(boolean up) {
        connected.set(up ? 1 : 0);
    }

    public void reconnect() {
        reconnects.inc();
    }

    public void command(String action, String outcome) {
        commands.labelValues(action, outcome).inc();
    }

    public void exec(double seconds) {
        execSeconds.observe(seconds);
    }

    public void certificate(Instant notAfter) {
        certificateExpiry.set(notAfter.getEpochSecond());
    }

    public void renewal(boolean ok) {
        renewals.labelValues(ok ? "ok" : "failed").inc();
    }

    /** @param decision allow, deny or abandoned */
    public void egress(String decision) {
        egressConnections.labelValues(decision).inc();
    }

    public void auditAppend(double seconds) {
        auditAppendSeconds.observe(seconds);
    }

    /**
     * The work-queue worker's gauges, read from its status on each scrape: sessions served now,
     * sessions and tool calls so far, and readiness, by environment.
     */
    public void worker(Supplier<Map<String, Map<String, Object>>> status) {
        GaugeWithCallback.builder().name("airlock_worker_ready").help("Work-queue environments whose last poll reached the queue (0 or 1)")
                .labelNames("environment").callback(cb -> status.get().forEach((env, m) -> cb.call(Boolean.TRUE.equals(m.get("ready")) ? 1 : 0, env)))
                .register(registry);
        GaugeWithCallback.builder().name("airlock_worker_sessions").help("Work-queue sessions being served, by environment")
                .labelNames("environment").callback(cb -> status.get().forEach((env, m) -> cb.call(((Number) m.get("sessions_active")).doubleValue(), env)))
                .register(registry);
        GaugeWithCallback.builder().name("airlock_worker_tool_calls").help("Tool calls answered since start, by environment and outcome (ok, error, denied)")
                .labelNames("environment", "outcome").callback(cb -> status.get().forEach((env, m) -> {
                    cb.call(((Number) m.get("tool_calls_ok")).doubleValue(), env, "ok");
                    cb.call(((Number) m.get("tool_calls_error")).doubleValue(), env, "error");
                    cb.call(((Number) m.get("tool_calls_denied")).doubleValue(), env, "denied");
                })).register(registry);
    }

    /** Live sandboxes per state, read at each scrape. */
    public void sandboxes(Supplier<Map<String, Long>> byState) {
        GaugeWithCallback.builder().name("airlock_sandboxes").help("Live sandboxes by state").labelNames("state")
                .callback(cb -> byState.get().forEach((state, n) -> cb.call(n, state))).register(registry);
    }

    /** Open MCP sessions per server, read at each scrape; every configured server has a series. */
    public void mcpSessions(Supplier<Map<String, Integer>> byServer) {
        GaugeWithCallback.builder().name("airlock_mcp_sessions").help("Open MCP sessions through the tunnel, by server").labelNames("server")
                .callback(cb -> {
                    Map<String, Integer> open = byServer.get();
                    mcpServers.forEach(server -> cb.call(open.getOrDefault(server, 0), server));
                }).register(registry);
    }

    public void mcp(String server, String outcome) {
        mcpMessages.labelValues(server, outcome).inc();
    }
}
