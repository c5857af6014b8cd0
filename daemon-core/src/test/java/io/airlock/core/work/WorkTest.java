package io.airlock.core.work;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class WorkTest {
    @Test
    void everyKindOfWorkButTheUnknownIsListedOnceAmongTheActions() {
        assertEquals(Work.ACTIONS.size(), Set.copyOf(Work.ACTIONS).size(), "each action once");
        assertEquals(Work.class.getPermittedSubclasses().length - 1, Work.ACTIONS.size(),
                "a new kind of work is listed in Work.ACTIONS (what a refusal of an unknown action names)");
    }
}
