package io.airlock.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.airlock.connector.grpc.ServerTimeProbe;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.worker.ApiException;
import io.airlock.connector.worker.Credential;
import io.airlock.connector.worker.WorkQueueApi;
import io.airlock.core.audit.AuditVerifier;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.config.WorkerEnvironment;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.driver.SandboxDriverProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The checks behind {@code airlock doctor}: each is one line, OK or FAIL, and a FAIL says how to
 * fix it. They only read and connect; nothing is changed.
 */
public final class Doctor {
    /** @param fix empty for OK lines */
    public record Check(String name, boolean ok, String detail, String fix) {
        @Override
        public String toString() {
            return (ok ? "OK   " : "FAIL ") + name + ": " + detail + (fix.isEmpty() ? "" : " -> fix: " + fix);
        }
    }

    private final Clock clock;

    public Doctor(Clock clock) {
        this.clock = clock;
    }

    /** Runs every check that the configuration allows; {@code config} is what loading produced, or the error. */
    public List<Check> run(Path configFile, ThrowingSupplier<DaemonConfig> config) {
        List<Check> checks = new ArrayList<>();
        DaemonConfig c;
        try {
            c = config.get();
            checks.add(new Check("config", true, Files.exists(configFile) ? configFile.toString() : "defaults (no " + configFile + ")", ""));
        } catch (Exception e) {
            checks.add(new Check("config", false, e.getMessage(), "correct " + configFile + " (docs/configuration.md lists every field)"));
            return checks;
        }
        checks.add(stateDir(c.stateDir()));
        AgentIdentity identity;
        try {
            if (!c.environments().isEmpty() && !AgentIdentity.exists(c.stateDir())) {
                checks.add(new Check("identity", true, "not enrolled: the daemon serves its " + c.environments().size()
                        + " work-queue environment(s) only", ""));
                identity = null;
            } else {
                identity = AgentIdentity.load(c.stateDir());
                checks.add(new Check("identity", true, "agent " + identity.agentId() + ", key 0600", ""));
            }
        } catch (Exception e) {
            checks.add(new Check("identity", false, e.getMessage(), "run 'airlock enroll --token-file FILE' with a fresh join token"));
            identity = null;
        }
        if (identity != null) {
            checks.add(certificate(identity.certificate()));
            String address = c.controlPlane().address().isEmpty() ? identity.controlPlaneAddress() : c.controlPlane().address();
            checks.addAll(controlPlane(address, identity));
        }
        c.environments().forEach(env -> checks.add(environment(env)));
        checks.addAll(drivers(c.drivers()));
        checks.add(audit(c.auditDir()));
        return checks;
    }

    /** The environment's key file and its queue: one stats call with the key (it claims nothing). */
    private static Check environment(WorkerEnvironment env) {
        String name = "environment " + env.environmentId();
        Credential key;
        try {
            key = Credential.readKeyFile(env.keyFile());
        } catch (IOException e) {
            return new Check(name, false, "key file: " + e.getMessage(), "write the environment key alone into " + env.keyFile() + ", mode 0600");
        }
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            JsonNode stats = new WorkQueueApi(env.apiUrl(), env.environmentId(), http).stats(key);
            return new Check(name, true, env.apiUrl() + " answers with the key (" + stats.path("depth").asInt() + " item(s) queued)", "");
        } catch (ApiException e) {
            return new Check(name, false, env.apiUrl() + " answered " + e.status() + ": " + e.getMessage(),
                    e.status() == 401 || e.status() == 403 ? "check the key in " + env.keyFile() + " and environments[].environment_id"
                            : "check environments[].api_url and the network path to it");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Check(name, false, "interrupted", "");
        }
    }

    @FunctionalInterface
    public interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    private static Check stateDir(Path dir) {
        if (!Files.isDirectory(dir)) {
            return new Check("state directory", false, dir + " does not exist", "run 'airlock enroll' (it creates it) or set state_dir");
        }
        Path identity = AgentIdentity.dir(dir);
        try {
            if (Files.isDirectory(identity)) {
                String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(identity));
                if (!mode.endsWith("------")) {
                    return new Check("state directory", false, identity + " is " + mode + ", open to others", "chmod 700 " + identity);
                }
            }
            return new Check("state directory", true, dir + (Files.isWritable(dir) ? ", writable" : ", READ-ONLY for this user"), "");
        } catch (IOException e) {
            return new Check("state directory", false, "cannot read " + identity + ": " + e.getMessage(), "run doctor as the daemon's user");
        }
    }

    private Check certificate(X509Certificate cert) {
        Instant now = clock.instant();
        Instant notAfter = cert.getNotAfter().toInstant();
        Instant notBefore = cert.getNotBefore().toInstant();
        if (now.isAfter(notAfter)) {
            return new Check("certificate", false, "expired at " + notAfter + " (" + Duration.between(notAfter, now).toSeconds() + " s ago)",
                    "enrol again: 'airlock cp token create' on the control plane, then 'airlock enroll --token-file FILE'");
        }
        if (now.isBefore(notBefore)) {
            return new Check("certificate", false, "not valid before " + notBefore + ": this machine's clock is behind",
                    "fix the clock (timedatectl / NTP)");
        }
        Duration left = Duration.between(now, notAfter);
        return new Check("certificate", true, "valid until " + notAfter + " (" + left.toHours() + " h left), subject "
                + cert.getSubjectX500Principal().getName(), "");
    }

    /** The largest clock difference to the control plane that doctor calls fine. */
    static final Duration MAX_SKEW = Duration.ofSeconds(30);

    /** TCP, then an mTLS call that also reads the control plane's clock (for the skew check). */
    private List<Check> controlPlane(String address, AgentIdentity identity) {
        String name = "control plane " + address;
        int colon = address.lastIndexOf(':');
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), 3000);
        } catch (IOException | RuntimeException e) {
            return List.of(new Check(name, false, "cannot connect (" + e.getMessage() + ")",
                    "check that the control plane runs and that this machine may dial out to it (firewall, proxy)"));
        }
        String ok = "reachable; TLS verified against the enrolled CA, client certificate accepted";
        return switch (ServerTimeProbe.probe(address, identity, clock)) {
            case ServerTimeProbe.Reached r -> List.of(new Check(name, true, ok, ""),
                    skew(Duration.ofMillis(r.serverMs() - (r.beforeMs() + r.afterMs()) / 2), Duration.ofMillis(r.afterMs() - r.beforeMs())));
            case ServerTimeProbe.NoClock n -> List.of(new Check(name, true, ok, ""),
                    new Check("clock", true, "not measured: this control plane does not tell its time", ""));
            case ServerTimeProbe.Failed f when f.tlsSetup() -> List.of(new Check(name, false, "cannot build the TLS context: " + f.detail(), "enrol again"));
            case ServerTimeProbe.Failed f -> List.of(new Check(name, false, "TLS or gRPC failed: " + f.detail(),
                    "if the certificate or CA changed, enrol again; else check the address"));
        };
    }

    /** @param skew server clock minus ours, measured at the middle of the round trip */
    private static Check skew(Duration skew, Duration roundTrip) {
        String detail = (skew.isNegative() ? "this machine is " + skew.negated().toMillis() + " ms ahead of"
                : "this machine is " + skew.toMillis() + " ms behind") + " the control plane (round trip " + roundTrip.toMillis() + " ms)";
        if (skew.abs().compareTo(MAX_SKEW) > 0) {
            return new Check("clock", false, detail + "; more than " + MAX_SKEW.toSeconds() + " s breaks certificate checks and renewal timing",
                    "synchronise the clock (timedatectl set-ntp true, or chrony/ntpd)");
        }
        return new Check("clock", true, detail, "");
    }

    private static List<Check> drivers(DaemonConfig.Drivers config) {
        List<Check> checks = new ArrayList<>();
        for (SandboxDriverProvider p : DriverRegistry.providers()) {
            boolean wanted = config.enabled().isEmpty() || config.enabled().contains(p.name()) || p.name().equals(config.defaultDriver());
            if (!wanted) {
                continue;
            }
            Optional<String> problem = p.check(config.options().getOrDefault(p.name(), Map.of()));
            boolean required = config.enabled().contains(p.name()) || p.name().equals(config.defaultDriver());
            if (problem.isEmpty()) {
                checks.add(new Check("driver " + p.name(), true, p.description(), ""));
            } else if (required) {
                checks.add(new Check("driver " + p.name(), false, problem.get(), "see docs/operations.md, Troubleshooting"));
            } else {
                // Auto-detected drivers may be missing; the daemon runs with the others.
                checks.add(new Check("driver " + p.name(), true, "not available, not required (drivers.enabled does not name it): "
                        + problem.get(), ""));
            }
        }
        return checks;
    }

    private static Check audit(Path dir) {
        if (!Files.exists(dir)) {
            return new Check("audit log", true, dir + " does not exist yet (the daemon creates it)", "");
        }
        try {
            AuditVerifier.Result r = AuditVerifier.verify(dir);
            return r.ok() ? new Check("audit log", true, r.records() + " records in " + r.files() + " file(s) verify", "")
                    : new Check("audit log", false, r.problem(), "keep the log as evidence; 'airlock audit verify' names the bad record");
        } catch (IOException e) {
            return new Check("audit log", false, "cannot read " + dir + ": " + e.getMessage(), "run doctor as the daemon's user");
        }
    }
}
