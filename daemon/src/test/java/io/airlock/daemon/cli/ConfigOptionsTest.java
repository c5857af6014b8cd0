package io.airlock.daemon.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.airlock.core.config.ConfigException;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.driver.DriverException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17.11: run, config check and doctor read a configuration through one path
 * ({@link ConfigOptions#checked}), which refuses what the daemon would refuse at start.
 */
class ConfigOptionsTest {
    @TempDir
    Path dir;

    private String refusal(String yaml) throws Exception {
        Path file = dir.resolve("airlock.yaml");
        Files.writeString(file, yaml);
        ConfigOptions options = new ConfigOptions();
        options.config = file;
        ConfigException e = assertThrows(ConfigException.class, options::load);
        // The daemon's own start refuses it with the same words.
        DriverException atStart = assertThrows(DriverException.class, () -> DriverRegistry.validate(ConfigLoader.load(file).drivers()));
        assertEquals(file + ": " + atStart.getMessage(), e.getMessage());
        return atStart.getMessage();
    }

    @Test
    void anUnknownDriverOrDriverOptionIsRefusedByEveryCommandAlike() throws Exception {
        assertEquals("drivers.enabled names 'firecracker', which is not a known driver (expected one of: bubblewrap, docker)",
                refusal("drivers: {enabled: [firecracker]}\n"));
        assertEquals("drivers.default names 'k8s', which is not a known driver (expected one of: bubblewrap, docker)",
                refusal("drivers: {default: k8s}\n"));
        assertEquals("drivers.options.docker.imagee: unknown option (expected one of: allowed_images, image, keepalive, orphans, runtime, "
                + "socket, templates, tmp_size, user, warm_pool)", refusal("drivers: {options: {docker: {imagee: busybox}}}\n"));
        assertEquals("drivers.options.bubblewrap.bwrap: unknown option (expected one of: bwrap_path)",
                refusal("drivers: {options: {bubblewrap: {bwrap: /usr/bin/bwrap}}}\n"));
        assertEquals("drivers.options.docker.warm_pool: 'lots' (expected: a whole number from 0 to 100)",
                refusal("drivers: {options: {docker: {warm_pool: lots}}}\n"));
    }
}
