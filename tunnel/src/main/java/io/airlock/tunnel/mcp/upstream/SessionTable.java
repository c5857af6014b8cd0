package io.airlock.tunnel.mcp.upstream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The MCP sessions open on one server, bounded by its max_sessions: a slot is reserved before
 * an initialize goes upstream and becomes a session once the server names it. Sessions unused
 * for the idle timeout are handed back by {@link #expire} to be ended.
 */
final class SessionTable {
    private final int max;
    private final Duration idle;
    private final Map<String, Long> lastUsed = new HashMap<>();
    private int reserved;

    SessionTable(int max, Duration idle) {
        this.max = max;
        this.idle = idle;
    }

    /** Takes a slot for a session about to start; false when all are taken. */
    synchronized boolean reserve() {
        if (lastUsed.size() + reserved >= max) {
            return false;
        }
        reserved++;
        return true;
    }

    /** The reserved slot becomes session {@code id} (null: the server keeps no session, the slot is freed). */
    synchronized void started(String id) {
        reserved--;
        if (id != null) {
            lastUsed.put(id, System.nanoTime());
        }
    }

    /**
     * Marks {@code id} used; a session this table does not know (the agent restarted, say) is
     * adopted if a slot is free. False when it is unknown and no slot is free.
     */
    synchronized boolean touch(String id) {
        if (!lastUsed.containsKey(id) && lastUsed.size() + reserved >= max) {
            return false;
        }
        lastUsed.put(id, System.nanoTime());
        return true;
    }

    synchronized boolean remove(String id) {
        return lastUsed.remove(id) != null;
    }

    synchronized int size() {
        return lastUsed.size();
    }

    /** Removes and returns the sessions idle for longer than the idle timeout. */
    synchronized List<String> expire() {
        long now = System.nanoTime();
        List<String> out = new ArrayList<>();
        lastUsed.entrySet().removeIf(e -> {
            boolean old = now - e.getValue() > idle.toNanos();
            if (old) {
                out.add(e.getKey());
            }
            return old;
        });
        return out;
    }

    /** Removes and returns every session. */
    synchronized List<String> clear() {
        List<String> out = new ArrayList<>(lastUsed.keySet());
        lastUsed.clear();
        return out;
    }
}
