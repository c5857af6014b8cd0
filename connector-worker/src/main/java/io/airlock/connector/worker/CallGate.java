package io.airlock.connector.worker;

import io.airlock.connector.worker.SessionEvent.Confirmation;
import io.airlock.connector.worker.SessionEvent.Idle;
import io.airlock.connector.worker.SessionEvent.ToolUse;
import io.airlock.core.config.WorkerEnvironment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which of a session's calls run, and when, as the SDK 1.16 session runner decides: only a call
 * the session waits on (an {@code evaluated_permission}, a subagent's thread, or listed by a
 * {@code requires_action} idle); {@code deny} never; one the platform gated ({@code ask}) once a
 * {@code user.tool_confirmation} allows it; each at most once, and none another client answered.
 * Calls of tools outside the toolset are left for their owner. No I/O: the session's handler
 * runs what this returns. Bounded: at most {@value #MAX_HELD} calls or ids are held per kind.
 */
final class CallGate {
    static final int MAX_HELD = 10_000;

    /** Where the gate's decisions are audited ({@code worker.tool} records). */
    interface Audit {
        void record(String event, Map<String, ?> fields);
    }

    private final Audit audit;
    private final Set<String> handled = new HashSet<>();
    private final Map<String, ToolUse> awaitingConfirmation = new LinkedHashMap<>();
    private final Map<String, String> verdicts = new HashMap<>();
    /** Calls without an evaluated permission, waiting for an idle that lists them; and ids listed before their call was read. */
    private final Map<String, ToolUse> unlisted = new LinkedHashMap<>();
    private final Set<String> listed = new HashSet<>();

    CallGate(Audit audit) {
        this.audit = audit;
    }

    /** A call was read; returns it when it runs now. */
    List<ToolUse> read(ToolUse call) {
        return decide(call, false);
    }

    private List<ToolUse> decide(ToolUse call, boolean listedByIdle) {
        if (!WorkerEnvironment.TOOLSET.contains(call.name()) || handled.contains(call.id())) {
            return List.of(); // another client's tool, or answered already: left as it is
        }
        boolean waitedOn = listedByIdle || call.permission() != null || !call.thread().isEmpty() || listed.remove(call.id());
        if (!waitedOn) {
            // A call the platform did not evaluate runs only once an idle lists it.
            if (unlisted.size() < MAX_HELD) {
                unlisted.put(call.id(), call);
            }
            return List.of();
        }
        String permission = call.permission() == null ? "allow" : call.permission();
        if (permission.equals("deny")) {
            handled.add(call.id());
            audit.record("denied_by_platform", Map.of("tool_use_id", call.id(), "tool", call.name()));
            return List.of(); // the platform refused it: nothing runs, nothing is posted
        }
        if (!permission.equals("allow")) {
            String verdict = verdicts.get(call.id());
            if (verdict == null) {
                if (awaitingConfirmation.size() < MAX_HELD) {
                    awaitingConfirmation.put(call.id(), call);
                }
                audit.record("awaiting_confirmation", Map.of("tool_use_id", call.id(), "tool", call.name()));
                return List.of();
            }
            if (!verdict.equals("allow")) {
                handled.add(call.id());
                return List.of(); // denied by the user: the platform resolves it; nothing runs
            }
        }
        handled.add(call.id());
        return List.of(call);
    }

    /** A verdict on a gated call; returns the call when it runs now. */
    List<ToolUse> confirmed(Confirmation c) {
        if (verdicts.size() < MAX_HELD) {
            verdicts.put(c.toolUseId(), c.result());
        }
        ToolUse held = awaitingConfirmation.remove(c.toolUseId());
        audit.record("confirmation", Map.of("tool_use_id", c.toolUseId(), "result", c.result()));
        if (held == null || handled.contains(c.toolUseId())) {
            return List.of();
        }
        handled.add(c.toolUseId());
        return c.result().equals("allow") ? List.of(held) : List.of();
    }

    /** An idle that requires action lists the calls the session waits on; returns those that run now, in the order listed. */
    List<ToolUse> listed(Idle idle) {
        List<ToolUse> run = new ArrayList<>();
        for (String id : idle.eventIds()) {
            ToolUse call = unlisted.remove(id);
            if (call != null) {
                run.addAll(decide(call, true));
            } else if (listed.size() < MAX_HELD) {
                listed.add(id); // its call may come later
            }
        }
        return run;
    }

    /** A result for the call is on the session (this worker's or another's): it never runs (again). */
    void answered(String toolUseId) {
        handled.add(toolUseId);
        awaitingConfirmation.remove(toolUseId);
        unlisted.remove(toolUseId);
    }
}
