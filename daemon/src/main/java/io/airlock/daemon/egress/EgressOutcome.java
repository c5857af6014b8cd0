package io.airlock.daemon.egress;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One connection through the egress proxy, as the audit log records it: reported once, when it
 * is refused or, for an allowed one, when it closes.
 *
 * @param method    CONNECT, or the HTTP method of a forwarded plain-HTTP request
 * @param address   the address dialled (or refused); empty when none was reached
 * @param rule      the rule that allowed it; empty when denied
 * @param reason    why it was denied, or why an allowed one failed; empty otherwise
 */
public record EgressOutcome(String sandboxId, String method, String host, int port, String address, String rule, boolean allowed,
        String reason, long bytesUp, long bytesDown, long durationMs) {

    /** The audit record's fields (type {@code egress}); see docs/audit-log.md. */
    public Map<String, Object> auditFields() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("sandbox_id", sandboxId);
        f.put("method", method);
        f.put("host", host);
        f.put("port", port);
        f.put("address", address);
        f.put("decision", allowed ? "allow" : "deny");
        f.put("rule", rule);
        f.put("reason", reason);
        f.put("bytes_up", bytesUp);
        f.put("bytes_down", bytesDown);
        f.put("duration_ms", durationMs);
        return f;
    }
}
