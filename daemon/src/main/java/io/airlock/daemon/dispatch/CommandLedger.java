package io.airlock.daemon.dispatch;

import io.airlock.proto.v1.CommandResult;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Remembers commands by id so a repeated id gets the first result instead of a second run.
 * Bounded by count and age (oldest forgotten first); commands that never ran (refused while
 * draining, over capacity, past their deadline) are forgotten at once so a retry can run.
 */
final class CommandLedger {
    private record Entry(CompletableFuture<CommandResult> result, long createdNanos) {}

    private final int maxEntries;
    private final Duration retention;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

    CommandLedger(int maxEntries, Duration retention) {
        this.maxEntries = maxEntries;
        this.retention = retention;
    }

    /** The existing entry for {@code commandId}, or null after registering {@code fresh} under it. */
    synchronized CompletableFuture<CommandResult> putIfAbsent(String commandId, CompletableFuture<CommandResult> fresh) {
        expire();
        Entry e = entries.get(commandId);
        if (e != null) {
            return e.result();
        }
        entries.put(commandId, new Entry(fresh, System.nanoTime()));
        return null;
    }

    synchronized void forget(String commandId) {
        entries.remove(commandId);
    }

    synchronized int size() {
        return entries.size();
    }

    private void expire() {
        long now = System.nanoTime();
        Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Entry> e = it.next();
            boolean old = now - e.getValue().createdNanos() > retention.toNanos();
            boolean over = entries.size() > maxEntries;
            // Never forget a running command: its result is still owed.
            if ((old || over) && e.getValue().result().isDone()) {
                it.remove();
            } else if (!old && !over) {
                break;
            }
        }
    }
}
