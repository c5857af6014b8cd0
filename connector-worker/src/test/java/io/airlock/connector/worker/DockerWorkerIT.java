package io.airlock.connector.worker;

import io.airlock.driver.DriverContext;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.driver.docker.DockerDriverProvider;
import java.nio.file.Path;
import java.util.Map;

/** The worker's sessions in hardened Docker containers (the busybox image: its sh stands in for bash). */
class DockerWorkerIT extends WorkerContract {
    private static final Path SOCKET = Path.of("/var/run/docker.sock");

    @Override
    SandboxDriver driver(Path stateDir) throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        String image = BusyboxImage.ensure(SOCKET);
        return new DockerDriverProvider().create(new DriverContext("worker-it-" + Long.toHexString(System.nanoTime()), stateDir,
                Map.of("image", image)));
    }
}
