package io.airlock.driver.docker;

import io.airlock.driver.Prerequisites;
import java.nio.file.Path;

/** What the Docker tests need first: a running engine and the locally built busybox image. */
final class TestEngine {
    static final Path SOCKET = Path.of("/var/run/docker.sock");

    private TestEngine() {}

    /** Fails (under CI) or aborts the test when the engine or busybox-static is missing; returns the sandbox image. */
    static String image() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        return BusyboxImage.ensure(SOCKET);
    }
}
