package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped unit (dist/systemd/airlock.service) as systemd reads it: {@code systemd-analyze
 * verify} without a warning, and the exposure score of {@code systemd-analyze security} is the
 * one docs/operations.md records. Both run against a root holding the installed layout's
 * executables and this host's systemd units, so nothing is installed on the host.
 */
class SystemdUnitIT {
    static final Path UNIT = Path.of("dist/systemd/airlock.service");
    static final Path OPERATIONS = Path.of("../docs/operations.md");

    @TempDir
    Path root;

    @BeforeEach
    void layout() throws IOException {
        Prerequisites.requireExecutable("systemd-analyze", "apt-get install systemd");
        Path bin = Files.createDirectories(root.resolve("opt/airlock/bin"));
        Files.writeString(bin.resolve("airlock"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(bin.resolve("airlock"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.createDirectories(root.resolve("bin"));
        Files.copy(Path.of("/bin/kill"), root.resolve("bin/kill"));
        Files.createDirectories(root.resolve("usr/bin"));
        Files.copy(Path.of("/usr/bin/truncate"), root.resolve("usr/bin/truncate"));
        Path units = Path.of("/usr/lib/systemd/system");
        Path into = Files.createDirectories(root.resolve("usr/lib/systemd/system"));
        try (Stream<Path> all = Files.list(units)) {
            for (Path u : all.filter(Files::isRegularFile).toList()) {
                Files.copy(u, into.resolve(u.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        Files.copy(UNIT, Files.createDirectories(root.resolve("etc/systemd/system")).resolve("airlock.service"));
    }

    private String analyze(List<String> args) throws Exception {
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "systemd-analyze did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", args) + ":\n" + out);
        return out;
    }

    @Test
    void verifyFindsNothingToSay() throws Exception {
        String out = analyze(List.of("systemd-analyze", "verify", "--root=" + root, "airlock.service"));
        assertEquals("", out.strip(), "an unknown key or a missing command is a warning here");
    }

    @Test
    void theExposureScoreIsTheOneTheOperationsGuideRecords() throws Exception {
        String out = analyze(List.of("systemd-analyze", "security", "--offline=true", "--no-pager", "--root=" + root, "airlock.service"));
        Matcher m = Pattern.compile("Overall exposure level for airlock.service: (\\d+\\.\\d)").matcher(out);
        assertTrue(m.find(), out);
        double score = Double.parseDouble(m.group(1));
        assertTrue(score <= 3.0, "exposure " + score + " is above 3.0:\n" + out);
        String guide = Files.readString(OPERATIONS);
        assertTrue(guide.contains("exposure level of " + m.group(1)), "docs/operations.md should record the exposure level of " + m.group(1));
    }
}
