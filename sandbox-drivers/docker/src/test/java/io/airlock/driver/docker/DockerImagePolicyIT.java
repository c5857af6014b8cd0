package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.DriverEvent;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecRun;
import java.util.concurrent.CopyOnWriteArrayList;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which images a provision may use: the allow-list, digest pins, and a registry that cannot be reached. */
class DockerImagePolicyIT {
    static String image;
    static String imageId;
    @TempDir
    Path state;
    SandboxDriver driver;

    @BeforeAll
    static void requireEngine() throws Exception {
        Prerequisites.require("Docker Engine", new DockerDriverProvider().unavailableReason());
        Prerequisites.require("busybox-static and the docker CLI", BusyboxImage.unavailableReason());
        try (var docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null)) {
            image = BusyboxImage.ensure(docker);
            imageId = docker.inspectImageCmd(image).exec().getId();
        }
    }

    @AfterEach
    void close() throws Exception {
        if (driver != null) {
            for (var s : driver.list()) {
                driver.destroy(s.id());
            }
            driver.close();
        }
    }

    private SandboxDriver driver(Map<String, Object> options) throws Exception {
        driver = new DockerDriverProvider().create(new DriverContext("images-" + System.nanoTime(), state, options));
        return driver;
    }

    private static SandboxSpec spec(String id, String image) {
        return new SandboxSpec(id, ResourceLimits.NONE, Map.of(), Map.of(), image);
    }

    @Test
    void anImageOutsideTheAllowListIsRefusedNamingTheOption() throws Exception {
        DriverException e = assertThrows(DriverException.class,
                () -> driver(Map.of("image", image)).provision(spec("x", "someone/else:latest")));
        assertEquals(DriverException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("not allowed") && e.getMessage().contains("allowed_images"), e.getMessage());
    }

    @Test
    void aPinnedImageIsUsedOnlyWithTheRightDigest() throws Exception {
        driver(Map.of("image", "unused/default:1", "allowed_images", List.of(image + "@" + imageId)));
        assertEquals("pinned", driver.provision(spec("pinned", image)).id());
        driver.destroy("pinned");
        driver.close();
        String wrong = "sha256:" + "0".repeat(64);
        driver = null;
        DriverException e = assertThrows(DriverException.class,
                () -> driver(Map.of("image", "unused/default:1", "allowed_images", List.of(image + "@" + wrong))).provision(spec("wrong", image)));
        assertEquals(DriverException.Kind.FAILED_PRECONDITION, e.kind());
        assertTrue(e.getMessage().contains(imageId) && e.getMessage().contains(wrong), "names both digests: " + e.getMessage());
        assertTrue(driver.get("wrong").isEmpty());
    }

    @Test
    void anAllowedImageWhoseRegistryCannotBeReachedFailsClearly() throws Exception {
        // A registry on a loopback port nobody listens on: the pull is refused at once, on this machine only.
        String missing = "127.0.0.1:9/airlock/not-here:1";
        DriverException e = assertThrows(DriverException.class,
                () -> driver(Map.of("image", image, "allowed_images", List.of(missing))).provision(spec("nope", missing)));
        assertEquals(DriverException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains("not present on this host and pulling it failed") && e.getMessage().contains(missing),
                e.getMessage());
    }

    @Test
    void aPullReportsProgressAsEventsAndTheSandboxRunsThePulledImage() throws Exception {
        try (LocalRegistry registry = new LocalRegistry("airlock-test/pulled");
                var docker = DockerDriverProvider.client(Path.of("/var/run/docker.sock"), null)) {
            String ref = registry.reference("1");
            List<DriverEvent> events = new CopyOnWriteArrayList<>();
            try {
                driver = new DockerDriverProvider().create(new DriverContext("pull-" + System.nanoTime(), state,
                        Map.of("image", image, "allowed_images", List.of(ref)), events::add));
                driver.provision(spec("pulled", ref));
                assertEquals(1, registry.layerDownloads.get(), "the layer came from the test's own registry");
                ExecRun run = ExecRun.sh(driver, "pulled", "echo from-the-pulled-image");
                assertEquals("from-the-pulled-image\n", run.stdout(), run.stderr());

                assertTrue(events.stream().allMatch(ev -> ev.kind() == DriverEvent.Kind.IMAGE_PULL && ev.sandboxId().equals("pulled")
                        && ev.pull().image().equals(ref)), events.toString());
                assertTrue(events.stream().anyMatch(ev -> ev.pull().status().equals("Downloading") && ev.pull().total() > 0
                        && ev.pull().current() > 0 && ev.pull().current() < ev.pull().total()), "partial download progress: " + events);
                assertEquals("Pull complete", events.getLast().pull().status());
                assertTrue(events.size() < 40, "throttled: " + events.size() + " events");
            } finally {
                close();
                driver = null;
                try {
                    docker.removeImageCmd(ref).withForce(true).exec();
                } catch (com.github.dockerjava.api.exception.NotFoundException e) {
                    // never pulled
                }
            }
        }
    }
}
