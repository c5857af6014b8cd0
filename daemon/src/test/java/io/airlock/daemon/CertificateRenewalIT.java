package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.core.audit.AuditVerifier;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.CertificateRenewer;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificate renewal against a real control plane that issues 15-second certificates: it
 * happens at two thirds of the lifetime, over the live mTLS channel, under continuous exec
 * traffic, without dropping a stream; and a two-CA bundle carries the agent through a CA
 * rotation.
 */
class CertificateRenewalIT {
    static final Duration T = Duration.ofSeconds(30);
    static final Duration VALIDITY = Duration.ofSeconds(15);
    static final String TWENTY_LINES = "i=0; while [ $i -lt 20 ]; do echo line $i; i=$((i+1)); sleep 0.1; done";

    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    @Test
    void renewsAtTwoThirdsOfTheLifetimeUnderContinuousExecTrafficWithoutDroppingAStream() throws Exception {
        fx = new AgentFixture(dir, VALIDITY).enrollAndStart();
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("busy").build(), T);
        X509Certificate first = fx.daemon.identity().certificate();
        Instant due = CertificateRenewer.renewAt(first);
        fx.connections.clear();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger completed = new AtomicInteger();
        List<Instant[]> spans = new CopyOnWriteArrayList<>(); // [call made, result received] of each completed exec
        List<String> failures = new CopyOnWriteArrayList<>();
        ExecutorService workers = Executors.newFixedThreadPool(3);
        for (int w = 0; w < 3; w++) {
            workers.submit(() -> {
                while (!stop.get()) {
                    try {
                        Instant started = Instant.now();
                        List<OutputChunk> out = new CopyOnWriteArrayList<>();
                        ExecResult r = fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("busy")
                                .addAllArgv(List.of("sh", "-c", TWENTY_LINES)).build(), null, out::add, T);
                        String text = String.join("", out.stream().map(c -> c.getData().toStringUtf8()).toList());
                        if (r.getExitCode() != 0 || text.lines().count() != 20) {
                            failures.add("exit " + r.getExitCode() + ", " + text.lines().count() + " lines");
                        } else {
                            completed.incrementAndGet();
                            spans.add(new Instant[] {started, Instant.now()});
                        }
                    } catch (RuntimeException e) {
                        failures.add(e.toString());
                    }
                }
            });
        }

        // Two renewals, and the first certificate expired: from then on only a renewed one could open a connection.
        Set<BigInteger> serials = new LinkedHashSet<>(List.of(first.getSerialNumber()));
        Instant firstChangeSeen = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (serials.size() < 3 || Instant.now().isBefore(first.getNotAfter().toInstant().plusSeconds(1))) {
            if (serials.add(fx.daemon.identity().certificate().getSerialNumber()) && firstChangeSeen == null) {
                firstChangeSeen = Instant.now();
            }
            assertTrue(System.nanoTime() < deadline, "renewals seen: " + (serials.size() - 1) + " within 60 s");
            Thread.sleep(50);
        }
        Instant stoppedAt = Instant.now();
        stop.set(true);
        workers.shutdown();
        assertTrue(workers.awaitTermination(T.toSeconds(), TimeUnit.SECONDS));

        assertEquals(List.of(), failures, "every exec stream ran to its end");
        assertTrue(completed.get() >= 20, "execs completed: " + completed.get());
        assertFalse(firstChangeSeen.isBefore(due), "renewed at " + firstChangeSeen + ", due at two thirds: " + due);
        assertTrue(fx.connections.stream().noneMatch(e -> e.startsWith("disconnected")), "control stream stayed up: " + fx.connections);

        // What the daemon uses is what is stored, and each renewal is in a verifying audit log.
        AgentIdentity stored = AgentIdentity.load(dir.resolve("agent"));
        assertEquals(fx.daemon.identity().certificate(), stored.certificate());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(AgentIdentity.dir(dir.resolve("agent")).resolve("agent.key"))));
        List<Instant> renewals = auditLines().stream().filter(l -> l.contains("\"event\":\"certificate_renewed\""))
                .map(l -> Instant.parse(l.replaceFirst(".*\"ts\":\"([^\"]+)\".*", "$1"))).filter(at -> at.isBefore(stoppedAt)).toList();
        assertTrue(renewals.size() >= 2, "audit: renewals under traffic: " + renewals);
        // Each renewal under traffic happened while an exec was running, and that exec still completed.
        for (Instant at : renewals) {
            assertTrue(spans.stream().anyMatch(s -> s[0].isBefore(at) && s[1].isAfter(at)), "no completed exec spans the renewal at " + at);
        }
        assertTrue(AuditVerifier.verify(dir.resolve("agent/audit")).ok());

        // A new connection must use the renewed credentials: the first certificate has expired.
        restartControlPlane();
        assertEquals(0, fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("busy").addArgv("true").build(), null,
                c -> { }, T).getExitCode());
    }

    @Test
    void aTwoCaBundleCarriesTheAgentThroughACaRotation() throws Exception {
        fx = new AgentFixture(dir, VALIDITY).enrollAndStart();
        Path cpState = dir.resolve("cp");
        X509Certificate oldCa = fx.cp.ca().certificate();
        assertEquals(1, fx.daemon.identity().caBundle().size());

        // Step 1: the next CA exists; the control plane still signs with the old one but hands out both.
        CertificateAuthority.beginRotation(cpState);
        restartControlPlane();
        X509Certificate newCa = fx.cp.ca().bundle().get(1);
        awaitThat(() -> fx.daemon.identity().caBundle().contains(newCa), "a renewal brought the two-CA bundle");
        assertEquals(oldCa.getSubjectX500Principal(), fx.daemon.identity().certificate().getIssuerX500Principal());

        // Step 2: the new CA signs, the server certificate included. The agent reconnects only because it trusts the bundle.
        CertificateAuthority.finishRotation(cpState);
        restartControlPlane();
        assertEquals(newCa, fx.cp.ca().certificate());
        awaitThat(() -> fx.daemon.identity().certificate().getIssuerX500Principal().equals(newCa.getSubjectX500Principal()),
                "a renewal brought a certificate from the new CA");

        // Step 3: the old CA is no longer trusted anywhere; the agent carries on.
        CertificateAuthority.retirePrevious(cpState);
        restartControlPlane();
        awaitThat(() -> fx.daemon.identity().caBundle().equals(List.of(newCa)), "a renewal dropped the retired CA");
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("after-rotation").build(), T);
        assertEquals(0, fx.cp.agents().exec(fx.agentId, StartExec.newBuilder().setSandboxId("after-rotation").addArgv("true").build(),
                null, c -> { }, T).getExitCode());
    }

    private void restartControlPlane() throws Exception {
        fx.stopControlPlane();
        fx.startControlPlane();
        fx.awaitEvent("connected", Duration.ofSeconds(20));
    }

    private static void awaitThat(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within 40 s: " + what);
            Thread.sleep(100);
        }
    }

    private List<String> auditLines() throws Exception {
        List<String> lines = new ArrayList<>();
        try (var files = Files.list(dir.resolve("agent/audit"))) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList()) {
                lines.addAll(Files.readAllLines(f));
            }
        }
        return lines;
    }
}
