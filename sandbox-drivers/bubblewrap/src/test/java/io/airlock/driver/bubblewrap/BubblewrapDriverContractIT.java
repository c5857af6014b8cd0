package io.airlock.driver.bubblewrap;

import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverContract;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/** The driver contract against real bubblewrap on this host. */
class BubblewrapDriverContractIT extends SandboxDriverContract {
    @BeforeAll
    static void requireBwrap() {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
    }

    @Override
    protected SandboxDriver createDriver(Path stateDir) throws Exception {
        return new BubblewrapDriverProvider().create(new DriverContext("contract-agent", stateDir, Map.of()));
    }
}
