package io.airlock.daemon.cli;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code airlock doctor}. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Check what the daemon needs: configuration, state directory, identity and certificate, the control plane"
                + " (TCP and mTLS), every driver, the audit log. One line each, OK or FAIL with the fix.",
            "Exits 0 when nothing failed, 1 otherwise. It changes nothing."})
public final class DoctorCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions config;

    @Override
    public Integer call() {
        List<Doctor.Check> checks = new Doctor(Clock.systemUTC()).run(config.config, config::load);
        checks.forEach(System.out::println);
        return checks.stream().allMatch(Doctor.Check::ok) ? 0 : 1;
    }
}
