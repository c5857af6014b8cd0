package io.airlock.launcher;

import org.junit.jupiter.api.Assumptions;

/** The tests that boot a machine of their own (the install test, the fresh-machine test). */
final class TestMachines {
    private TestMachines() {}

    /** Whether this run is inside the fresh-machine test's machine. */
    static boolean nested() {
        return System.getenv("AIRLOCK_IN_TEST_MACHINE") != null;
    }

    /**
     * Inside the fresh-machine test's machine (AIRLOCK_IN_TEST_MACHINE set), a test that boots
     * another machine is skipped, with this reason in the build's list of skipped tests: machines
     * do not nest here, and the outer run has just run it on the host. Call it in each test (or a
     * BeforeEach): an abort in a BeforeAll leaves no test in the reports, so no line in that list.
     */
    static void requireNotNested() {
        if (nested()) {
            Assumptions.abort("boots a machine of its own, and this run is inside the fresh-machine test's machine "
                    + "(AIRLOCK_IN_TEST_MACHINE): machines do not nest; the outer run runs it");
        }
    }
}
