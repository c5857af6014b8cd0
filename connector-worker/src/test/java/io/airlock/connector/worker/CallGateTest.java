package io.airlock.connector.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.connector.worker.SessionEvent.ToolUse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The session runner's rules of which calls run, decoded from the platform's JSON, without a sandbox or a queue. */
class CallGateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> audited = new ArrayList<>();
    private final CallGate gate = new CallGate((event, fields) -> audited.add(event + " " + fields.get("tool_use_id")));

    private static SessionEvent event(String json) throws Exception {
        return SessionEvent.of(JSON.readTree(json));
    }

    private static ToolUse call(String id, String extra) throws Exception {
        return (ToolUse) event("{\"type\":\"agent.tool_use\",\"id\":\"" + id + "\",\"name\":\"bash\",\"input\":{}" + extra + "}");
    }

    private static List<String> ids(List<ToolUse> calls) {
        return calls.stream().map(ToolUse::id).toList();
    }

    @Test
    void anEvaluatedCallRunsOnceAndADeniedOneNeverRuns() throws Exception {
        assertEquals(List.of("a"), ids(gate.read(call("a", ",\"evaluated_permission\":\"allow\""))));
        assertEquals(List.of(), ids(gate.read(call("a", ",\"evaluated_permission\":\"allow\""))), "read again (stream and list): not again");
        assertEquals(List.of(), ids(gate.read(call("d", ",\"evaluated_permission\":\"deny\""))));
        assertEquals(List.of("denied_by_platform d"), audited);
    }

    @Test
    void aCallNobodyEvaluatedWaitsForAnIdleThatListsItEitherWayRound() throws Exception {
        assertEquals(List.of(), ids(gate.read(call("u", ""))), "not evaluated, not listed: it waits");
        SessionEvent.Idle idle = (SessionEvent.Idle) event("{\"type\":\"session.status_idle\",\"stop_reason\":{\"type\":\"requires_action\","
                + "\"event_ids\":[\"u\",\"later\"]}}");
        assertTrue(idle.requiresAction());
        assertEquals(List.of("u"), ids(gate.listed(idle)));
        assertEquals(List.of("later"), ids(gate.read(call("later", ""))), "listed before it was read: it runs when read");
        assertEquals(List.of("t"), ids(gate.read(call("t", ",\"session_thread_id\":\"sthr_1\""))), "a subagent's call runs");
        assertEquals("sthr_1", call("t", ",\"session_thread_id\":\"sthr_1\"").thread());
    }

    @Test
    void aGatedCallRunsOnlyWhenAConfirmationAllowsIt() throws Exception {
        assertEquals(List.of(), ids(gate.read(call("g", ",\"evaluated_permission\":\"ask\""))));
        assertEquals(List.of(), ids(gate.read(call("h", ",\"evaluated_permission\":\"ask\""))));
        assertEquals(List.of("g"), ids(gate.confirmed((SessionEvent.Confirmation) event(
                "{\"type\":\"user.tool_confirmation\",\"tool_use_id\":\"g\",\"result\":\"allow\"}"))));
        assertEquals(List.of(), ids(gate.confirmed((SessionEvent.Confirmation) event(
                "{\"type\":\"user.tool_confirmation\",\"tool_use_id\":\"h\",\"result\":\"deny\"}"))));
        assertEquals(List.of(), ids(gate.read(call("h", ",\"evaluated_permission\":\"ask\""))), "denied: never, even read again");
        assertEquals(List.of("awaiting_confirmation g", "awaiting_confirmation h", "confirmation g", "confirmation h"), audited);
    }

    @Test
    void aCallAnsweredElsewhereOrOfAnotherToolNeverRuns() throws Exception {
        gate.answered("x");
        assertEquals(List.of(), ids(gate.read(call("x", ",\"evaluated_permission\":\"allow\""))));
        ToolUse custom = (ToolUse) event("{\"type\":\"agent.tool_use\",\"id\":\"c\",\"name\":\"my_tool\",\"input\":{},\"evaluated_permission\":\"allow\"}");
        assertEquals(List.of(), ids(gate.read(custom)), "not the toolset's: left for its owner");
        assertTrue(event("{\"type\":\"session.status_terminated\"}") instanceof SessionEvent.Ended);
        assertTrue(event("{\"type\":\"span.model_request_start\"}") instanceof SessionEvent.Other);
    }
}
