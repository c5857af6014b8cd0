package io.airlock.core.work;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Remembers work by id so a repeated id gets the first result instead of a second run.
 * Bounded by count and age (oldest forgotten first); work that never ran (refused while
 * draining, over capacity, past its deadline) is forgotten at once so a retry can run.
 */
final class WorkLedger {
    private record Entry(CompletableFuture<Outcome> result, long createdNanos) {}

    private final int maxEntries;
    private final Duration retention;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

    WorkLedger(int maxEntries, Duration retention) {
        this.maxEntries = maxEntries;
        this.retention = retention;
    }

    /** The existing entry for {@code workId}, or null after registering {@code fresh} under it. */
    synchronized CompletableFuture<Outcome> putIfAbsent(String workId, CompletableFuture<Outcome> fresh) {
        expire();
        Entry e = entries.get(workId);
        if (e != null) {
            return e.result();
        }
        entries.put(workId, new Entry(fresh, System.nanoTime()));
        return null;
    }

    synchronized void forget(String workId) {
        entries.remove(workId);
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
            // Never forget running work: its result is still owed.
            if ((old || over) && e.getValue().result().isDone()) {
                it.remove();
            } else if (!old && !over) {
                break;
            }
        }
    }
}
