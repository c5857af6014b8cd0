package io.airlock.connector.worker;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** Counters of one environment's worker, for status and metrics. */
public final class WorkerStats {
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong served = new AtomicLong();
    private final AtomicLong toolsOk = new AtomicLong();
    private final AtomicLong toolsError = new AtomicLong();
    private final AtomicLong toolsDenied = new AtomicLong();
    private volatile boolean polling;
    private volatile String lastError = "";

    void sessionStarted() {
        active.incrementAndGet();
    }

    void sessionEnded() {
        active.decrementAndGet();
        served.incrementAndGet();
    }

    void toolCall(String outcome) {
        (switch (outcome) {
            case "ok" -> toolsOk;
            case "denied" -> toolsDenied;
            default -> toolsError;
        }).incrementAndGet();
    }

    void polled(boolean ok, String error) {
        polling = ok;
        if (!ok) {
            lastError = error;
        }
    }

    /** Whether the last poll reached the queue: the connector's readiness. */
    public boolean ready() {
        return polling;
    }

    public int activeSessions() {
        return active.get();
    }

    public Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ready", polling);
        m.put("sessions_active", active.get());
        m.put("sessions_served", served.get());
        m.put("tool_calls_ok", toolsOk.get());
        m.put("tool_calls_error", toolsError.get());
        m.put("tool_calls_denied", toolsDenied.get());
        m.put("last_error", lastError);
        return m;
    }
}
