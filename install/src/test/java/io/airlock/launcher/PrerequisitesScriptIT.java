package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * install/prerequisites.sh where it may not install: a user without root or sudo, on a PATH without
 * bubblewrap, Maven or Docker. It installs nothing and lists everything missing in one message, with
 * the command that installs it all. (Installing, as root, is what the fresh-machine test watches.)
 */
class PrerequisitesScriptIT {
    static final Path SCRIPT = Path.of("prerequisites.sh").toAbsolutePath();

    @TempDir
    Path dir;

    @Test
    void withoutRootItListsEverythingMissingInOneMessage() throws Exception {
        Prerequisites.requireExecutable("setpriv", "apt-get install util-linux");
        // A PATH with the shell's basic tools only: no bwrap, mvn, docker, dockerd, sudo.
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String tool : List.of("bash", "id", "dirname", "grep", "sed", "ldd", "cat", "mktemp", "rm", "seq", "sleep")) {
            Path real = Prerequisites.findOnPath(tool).orElseThrow(() -> new AssertionError(tool + " not on this host's PATH"));
            Files.createSymbolicLink(bin.resolve(tool), real);
        }
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Command.Result r = Command.run(Duration.ofSeconds(60), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "env", "-i", "PATH=" + bin, "HOME=/nonexistent", "bash", SCRIPT.toString(), "dev", "docker");
        assertEquals(2, r.exit(), r.out());
        assertTrue(r.out().contains("airlock: missing what './airlock dev' needs; as root, run:"), r.out());
        String install = r.out().lines().filter(l -> l.strip().startsWith("apt-get install -y ")).findFirst().orElseThrow(() -> new AssertionError(r.out()));
        for (String pkg : List.of("maven", "bubblewrap", "docker.io")) {
            assertTrue((install + " ").contains(" " + pkg + " "), pkg + " in: " + install);
        }
        assertTrue(r.out().contains("dockerd &"), "and how to start the engine: " + r.out());
        assertTrue(r.out().contains("bubblewrap (the bubblewrap driver's sandboxes)"), "says what each is for: " + r.out());
        assertEquals(1, r.out().lines().filter(l -> l.contains("apt-get install")).count(), "one message: " + r.out());
    }
}
