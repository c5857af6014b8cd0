package io.airlock.core.work;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Timestamps at each hand-off of one work item on its way through the daemon (wire in, loop,
 * work thread, records, driver, process, reply, wire out), for the exec benchmark's table of
 * where a round trip goes. Off unless the JVM runs with {@code -Dairlock.probe=true}: then
 * {@link #mark} costs one map lookup; off, one static boolean read. At most
 * {@link #MAX_ITEMS} items are kept, so a probe left on cannot grow without bound.
 */
public final class HandOffProbe {
    public static final boolean ENABLED = Boolean.getBoolean("airlock.probe");
    static final int MAX_ITEMS = 10_000;

    /** A named moment in an item's way. */
    public record Mark(String point, long nanos) {}

    private static final Map<String, List<Mark>> MARKS = new ConcurrentHashMap<>();

    private HandOffProbe() {}

    /** Records that work {@code id} reached {@code point} now. */
    public static void mark(String id, String point) {
        if (!ENABLED) {
            return;
        }
        long now = System.nanoTime();
        List<Mark> marks = MARKS.get(id);
        if (marks == null) {
            if (MARKS.size() >= MAX_ITEMS) {
                return;
            }
            marks = MARKS.computeIfAbsent(id, k -> new ArrayList<>());
        }
        synchronized (marks) {
            marks.add(new Mark(point, now));
        }
    }

    /** The marks of {@code id} in the order they were made, forgotten here; empty when none. */
    public static List<Mark> take(String id) {
        List<Mark> marks = MARKS.remove(id);
        if (marks == null) {
            return List.of();
        }
        synchronized (marks) {
            return List.copyOf(marks);
        }
    }

    /** Every item's marks, forgotten here. */
    public static Map<String, List<Mark>> takeAll() {
        Map<String, List<Mark>> all = new LinkedHashMap<>();
        for (String id : List.copyOf(MARKS.keySet())) {
            List<Mark> marks = take(id);
            if (!marks.isEmpty()) {
                all.put(id, marks);
            }
        }
        return all;
    }

    /** Per point, nanoseconds since the previous mark (the first since {@code startNanos}). */
    public static Map<String, Long> steps(List<Mark> marks, long startNanos) {
        Map<String, Long> steps = new LinkedHashMap<>();
        long previous = startNanos;
        for (Mark m : marks) {
            steps.merge(m.point(), m.nanos() - previous, Long::sum);
            previous = m.nanos();
        }
        return steps;
    }
}
