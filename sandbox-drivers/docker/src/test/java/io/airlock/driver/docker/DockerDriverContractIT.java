package io.airlock.driver.docker;

import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxDriverContract;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/** The driver contract against the real Docker Engine on this host. */
class DockerDriverContractIT extends SandboxDriverContract {
    static String image;

    @BeforeAll
    static void requireEngine() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        try (var docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null)) {
            image = BusyboxImage.ensure(docker);
        }
    }

    @Override
    protected SandboxDriver createDriver(Path stateDir) throws Exception {
        return new DockerDriverProvider().create(new DriverContext("contract-" + stateDir.getFileName().toString().hashCode(),
                stateDir, Map.of("image", image)));
    }
}
