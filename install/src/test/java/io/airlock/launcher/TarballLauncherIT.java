package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball's launcher on this host with nothing to find Java by: an empty environment (no PATH,
 * no JAVA_HOME), and a PATH and JAVA_HOME that point at no Java. It runs on the runtime inside the
 * tarball, also when called through a symbolic link as /usr/bin/airlock is.
 */
class TarballLauncherIT {
    @TempDir
    static Path dir;
    static Path home;

    @BeforeAll
    static void unpack() throws Exception {
        Path tarball;
        try (Stream<Path> files = Files.list(Path.of("target/dist"))) {
            tarball = files.filter(f -> f.getFileName().toString().endsWith("-linux-x86_64.tar.gz")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no tarball in target/dist: the package phase makes it"));
        }
        Command.Result r = Command.run(Duration.ofMinutes(2), "tar", "-C", dir.toString(), "-xzf", tarball.toAbsolutePath().toString());
        assertEquals(0, r.exit(), r.out());
        try (Stream<Path> unpacked = Files.list(dir)) {
            home = unpacked.filter(Files::isDirectory).findFirst().orElseThrow();
        }
    }

    private static Command.Result airlock(String... envAndArgs) throws Exception {
        String[] command = new String[envAndArgs.length + 2];
        command[0] = "env";
        command[1] = "-i";
        System.arraycopy(envAndArgs, 0, command, 2, envAndArgs.length);
        return Command.run(Duration.ofMinutes(1), command);
    }

    @Test
    void runsOnItsOwnRuntimeWithAnEmptyEnvironment() throws Exception {
        String runtime = Files.readString(home.resolve("runtime/release"));
        String bundled = runtime.replaceAll("(?s).*JAVA_VERSION=\"([^\"]+)\".*", "$1");
        Command.Result version = airlock(home.resolve("bin/airlock").toString(), "--version");
        assertEquals(0, version.exit(), version.out());
        assertTrue(version.out().startsWith("airlock ") && version.out().contains("Java " + bundled), version.out() + " vs " + bundled);
        // The build's version and the package's, as the tree names them.
        String project = Files.readString(home.resolve("VERSION")).strip();
        String pkg = Files.readString(home.resolve("PACKAGE_VERSION")).strip();
        assertTrue(version.out().startsWith("airlock " + project + " (package " + pkg + ", "), version.out());
    }

    @Test
    void runsWithPathAndJavaHomeClearedOfJavaAndThroughASymlink() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("airlock-link"), home.resolve("bin/airlock"));
        Command.Result check = airlock("PATH=/usr/bin:/bin", "JAVA_HOME=/nonexistent", link.toString(),
                "config", "check", "--config", home.resolve("etc/airlock.yaml").toString());
        assertEquals(0, check.exit(), check.out());
        assertEquals("ok: " + home.resolve("etc/airlock.yaml") + " (state_dir /var/lib/airlock, audit /var/log/airlock, drivers bubblewrap)\n",
                check.out());
    }

    @Test
    void aBrokenConfigurationIsNamedWithItsField() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "drain: {grace_period: soon}\n");
        Command.Result check = airlock(home.resolve("bin/airlock").toString(), "config", "check", "--config", bad.toString());
        assertEquals(2, check.exit(), check.out());
        assertTrue(check.out().contains("grace_period") && check.out().contains("soon"), check.out());
    }
}
