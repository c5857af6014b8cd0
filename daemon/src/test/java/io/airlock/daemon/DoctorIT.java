package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.daemon.cli.Doctor;
import io.airlock.core.config.ConfigException;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** airlock doctor against a real enrolled agent: all OK, then each prerequisite broken in turn is named with its fix. */
class DoctorIT {
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    private DaemonConfig config(String drivers) throws ConfigException {
        return ConfigLoader.parse("state_dir: " + dir.resolve("agent") + "\n" + drivers, "doctor.yaml");
    }

    private static Doctor.Check find(List<Doctor.Check> checks, String prefix) {
        return checks.stream().filter(c -> c.name().startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no check " + prefix + " in " + checks));
    }

    @Test
    void reportsEachBrokenPrerequisiteWithItsFix() throws Exception {
        fx = new AgentFixture(dir).enrollAndStart();
        Path file = dir.resolve("doctor.yaml");
        DaemonConfig good = config("drivers: {enabled: [bubblewrap]}\n");

        List<Doctor.Check> healthy = new Doctor(Clock.systemUTC()).run(file, () -> good);
        assertTrue(healthy.stream().allMatch(Doctor.Check::ok), healthy.toString());
        assertTrue(find(healthy, "control plane").detail().contains("client certificate accepted"), healthy.toString());

        // An expired certificate: the same identity, seen from 30 days later.
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofDays(30)), ZoneOffset.UTC);
        Doctor.Check cert = find(new Doctor(later).run(file, () -> good), "certificate");
        assertFalse(cert.ok());
        assertTrue(cert.detail().startsWith("expired at") && cert.fix().contains("airlock enroll"), cert.toString());

        // Clock skew to the control plane: measured against its ServerTime, with our clock 10 minutes fast.
        assertTrue(find(healthy, "clock").ok() && find(healthy, "clock").detail().contains("the control plane"), healthy.toString());
        Doctor.Check skew = find(new Doctor(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(10))).run(file, () -> good), "clock");
        assertFalse(skew.ok(), skew.toString());
        assertTrue(skew.detail().matches("this machine is (59[0-9]|600)[0-9]{3} ms ahead of the control plane.*") && skew.fix().contains("ntp"),
                skew.toString());

        // A missing Docker socket, when docker is enabled.
        DaemonConfig noSocket = config("drivers: {enabled: [bubblewrap, docker], options: {docker: {socket: " + dir.resolve("no.sock") + "}}}\n");
        Doctor.Check docker = find(new Doctor(Clock.systemUTC()).run(file, () -> noSocket), "driver docker");
        assertFalse(docker.ok());
        assertTrue(docker.detail().contains("no Docker engine socket at " + dir.resolve("no.sock")), docker.toString());

        // An invalid configuration stops at the first line, naming the field.
        List<Doctor.Check> invalid = new Doctor(Clock.systemUTC()).run(file, () -> config("control_plane: {ping_intervall: 2s}\n"));
        assertEquals(1, invalid.size(), invalid.toString());
        assertFalse(invalid.get(0).ok());
        assertTrue(invalid.get(0).detail().contains("ping_intervall") && invalid.get(0).fix().contains("docs/configuration.md"), invalid.toString());

        // An unreachable control plane.
        fx.stopControlPlane();
        Doctor.Check cp = find(new Doctor(Clock.systemUTC()).run(file, () -> good), "control plane");
        assertFalse(cp.ok());
        assertTrue(cp.detail().startsWith("cannot connect") && cp.fix().contains("dial out"), cp.toString());
    }
}
