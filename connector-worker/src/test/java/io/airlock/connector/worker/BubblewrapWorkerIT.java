package io.airlock.connector.worker;

import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import java.nio.file.Path;
import java.util.Map;

/** The worker's sessions in bubblewrap sandboxes. */
class BubblewrapWorkerIT extends WorkerContract {
    @Override
    SandboxDriver driver(Path stateDir) throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        return new BubblewrapDriverProvider().create(new DriverContext("worker-it", stateDir, Map.of()));
    }
}
