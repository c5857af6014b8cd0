package io.airlock.launcher;

import org.junit.jupiter.api.Assumptions;

/** The tests that boot a machine of their own (the install test, the fresh-machine test). */
final class TestMachines {
    private TestMachines() {}

    /**
     * Inside the fresh-machine test's machine (AIRLOCK_IN_TEST_MACHINE set), a test that boots
     * another machine is skipped, with this reason in the build's list of skipped tests: machines
     * do not nest here, and the outer run has just run it on the host.
     */
    static void requireNotNested() {
        if (System.getenv("AIRLOCK_IN_TEST_MACHINE") != null) {
            Assumptions.abort("boots a machine of its own, and this run is inside the fresh-machine test's machine "
                    + "(AIRLOCK_IN_TEST_MACHINE): machines do not nest; the outer run runs it");
        }
    }
}
