package io.airlock.core.audit;

import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a component leaves its audit records: given to each component that makes them (work,
 * tunnel, egress, identity) at construction, so none goes through another to be recorded.
 */
public interface AuditTrail {
    /** Appends a record; throws {@link AuditException} when it cannot (work that needs the record must not run). */
    void append(String type, Map<String, ?> fields);

    /** A keyed hash of a secret-bearing value (environment values), comparable within this log. */
    String hashed(String value);

    /** True once the log is closed (the daemon stopped); late records are then dropped. */
    boolean isClosed();

    /** Appends a record of something that happened anyway; a failure is logged, not thrown. */
    default void record(String type, Map<String, ?> fields) {
        try {
            append(type, fields);
        } catch (AuditException e) {
            Logger log = LoggerFactory.getLogger(AuditTrail.class);
            if (isClosed()) {
                log.debug("not audited after the stop: {} {}", type, fields);
            } else {
                log.error("cannot audit {}: {}", type, e.getMessage());
            }
        }
    }
}
