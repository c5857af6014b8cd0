package io.airlock.tunnel.mcp;

import java.util.Map;

/** Where the tunnel's records go (the daemon's audit log), and its keyed hash for arguments. */
public interface McpAudit {
    /** Appends one {@code mcp} record; fields are flat, snake_case. */
    void record(Map<String, Object> fields);

    /** A keyed hash of {@code value}: equal values compare equal, but the value cannot be recovered or guessed. */
    String hash(String value);
}
