package io.airlock.core.egress;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One connection through the egress proxy, as the audit log records it: reported exactly once,
 * when it is refused, when an allowed one closes, or when the client goes away before either
 * (abandoned: what the proxy had done for it by then is in {@code reason}, {@code address}).
 *
 * @param method    CONNECT, or the HTTP method of a forwarded plain-HTTP request; empty before the request head
 * @param address   the address dialled (or refused); empty when none was reached
 * @param rule      the rule that allowed it; empty when denied, or abandoned before a decision
 * @param reason    why it was denied, why an allowed one failed, or how far an abandoned one got; empty otherwise
 */
public record EgressOutcome(String sandboxId, String method, String host, int port, String address, String rule, Decision decision,
        String reason, long bytesUp, long bytesDown, long durationMs) {

    /** What became of a connection, as the audit record's {@code decision} and the metric's label. */
    public enum Decision {
        ALLOW, DENY, ABANDONED;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public boolean allowed() {
        return decision == Decision.ALLOW;
    }

    /** The audit record's fields (type {@code egress}); see docs/audit-log.md. */
    public Map<String, Object> auditFields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("sandbox_id", sandboxId);
        f.put("method", method);
        f.put("host", host);
        f.put("port", port);
        f.put("address", address);
        f.put("decision", decision.wireName());
        f.put("rule", rule);
        f.put("reason", reason);
        f.put("bytes_up", bytesUp);
        f.put("bytes_down", bytesDown);
        f.put("duration_ms", durationMs);
        return f;
    }
}
