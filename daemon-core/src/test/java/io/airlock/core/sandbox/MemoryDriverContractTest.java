package io.airlock.core.sandbox;

import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverContract;
import java.nio.file.Path;

/** The in-memory driver the core's tests use, held to the contract every driver meets (what it claims: files). */
class MemoryDriverContractTest extends SandboxDriverContract {
    @Override
    protected SandboxDriver createDriver(Path stateDir) {
        return new MemoryDriver();
    }
}
