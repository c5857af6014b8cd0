package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.admin.AdminServer;
import io.airlock.controlplane.gateway.AgentRegistry;
import io.airlock.controlplane.gateway.AuditAnchors;
import io.airlock.core.audit.AuditVerifier;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.proto.v1.ProvisionSandbox;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 17.2 and 17.4 with a real daemon process: it reports its audit head to the control
 * plane, which keeps the highest one across its own restarts; a log rolled back to an older
 * genuine state verifies locally, and `airlock audit verify --anchor` catches it; a clean stop
 * records the connection going down.
 */
class AuditAnchorIT {
    @TempDir
    Path dir;
    ControlPlaneServer cp;
    AdminServer admin;
    DaemonProcess daemon;

    @AfterEach
    void stop() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (cp != null) {
            cp.close();
        }
    }

    static CliRun airlock(String... args) {
        return CliRun.of(Airlock.commandLine(args), args);
    }

    private DaemonProcess startDaemon(Path config, String agentId, long seqAbove) throws Exception {
        DaemonProcess d = DaemonProcess.start(config, dir.resolve("daemon.log"));
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, Duration.ofSeconds(30)), "connected; log: " + d.log());
        // The control plane sees the agent at its Hello; the daemon is connected once it has the Welcome.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!d.log().contains("connected to control plane (session")) {
            assertTrue(System.nanoTime() < deadline, "the daemon got no Welcome; log: " + d.log());
            Thread.sleep(50);
        }
        awaitAnchor(agentId, seqAbove);
        return d;
    }

    private long awaitAnchor(String agentId, long above) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            var kept = cp.registry().anchors().get(agentId);
            if (kept.isPresent() && kept.get().anchor().getSeq() > above) {
                return kept.get().anchor().getSeq();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the control plane kept no audit anchor above seq " + above);
    }

    private void sigterm(DaemonProcess d) throws Exception {
        d.process.destroy();
        assertTrue(d.process.waitFor(60, TimeUnit.SECONDS), "the daemon stopped on SIGTERM");
    }

    /**
     * The anchor the control plane keeps once the daemon has stopped: the daemon reports its head with
     * every ping and records more on its way down, so only the anchor after its stream closed is final
     * (gRPC hands the server a stream's messages before its end, so the end comes after the last report).
     */
    private long finalAnchor(String agentId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (cp.registry().agent(agentId).map(AgentRegistry.AgentView::connected).orElse(false)) {
            assertTrue(System.nanoTime() < deadline, "the control plane still counts the stopped daemon as connected");
            Thread.sleep(50);
        }
        return cp.registry().anchors().get(agentId).orElseThrow().anchor().getSeq();
    }

    private static void copyFiles(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var old = Files.list(to)) {
            for (Path p : old.toList()) {
                Files.delete(p);
            }
        }
        try (var files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    @Test
    void aRolledBackLogVerifiesLocallyButNotAgainstTheControlPlanesAnchor() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0));
        admin = new AdminServer(cp, dir.resolve("cp"), 0);
        String agentId = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), dir.resolve("agent"), "anchor")
                .agentId();
        Path config = dir.resolve("airlock.yaml");
        Files.writeString(config, """
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                control_plane: {ping_interval: 300ms, ping_timeout: 5s}
                """.formatted(dir.resolve("agent")));
        Path audit = dir.resolve("agent/audit");

        daemon = startDaemon(config, agentId, 0);
        sigterm(daemon);
        List<String> types = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        assertTrue(AuditVerifier.verify(audit, r -> {
            types.add(r.record().path("type").asText());
            reasons.add(r.record().path("reason").asText());
        }).ok());
        int stopped = types.lastIndexOf("audit.stopped");
        assertTrue(stopped > 0 && types.get(stopped - 1).equals("connection") && reasons.get(stopped - 1).equals("the daemon is stopping"),
                "a clean stop records the connection going down before the log closes: " + types + "\n" + daemon.log());
        Path older = dir.resolve("older-audit");
        copyFiles(audit, older);
        long olderSeq = AuditVerifier.verify(older).records();

        // More happens, and the control plane keeps an anchor past what the older copy holds.
        daemon = startDaemon(config, agentId, olderSeq);
        cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("evidence").build(), Duration.ofSeconds(60));
        awaitAnchor(agentId, olderSeq + 2);
        sigterm(daemon);
        long anchored = finalAnchor(agentId);
        CliRun printed = airlockCp("audit-anchor", agentId);
        assertEquals(0, printed.exit(), printed.err());
        String anchor = printed.out().strip();
        assertTrue(anchor.startsWith(anchored + ":"), anchor);

        CliRun intact = airlock("audit", "verify", audit.toString(), "--anchor", anchor);
        assertEquals(0, intact.exit(), intact.out() + intact.err());

        // The attacker puts the older, genuine log back: every MAC, the chain and the head are fine.
        copyFiles(older, audit);
        CliRun local = airlock("audit", "verify", audit.toString());
        assertEquals(0, local.exit(), "locally a rollback cannot be seen: " + local.err());
        CliRun anchoredCheck = airlock("audit", "verify", audit.toString(), "--anchor", anchor);
        assertEquals(1, anchoredCheck.exit(), anchoredCheck.out());
        assertTrue(anchoredCheck.err().contains("the control plane's anchor is at seq " + anchored) && anchoredCheck.err().contains("rollback"),
                anchoredCheck.err());

        // The daemon restarted on the rolled-back log reports a lower seq: the anchor stays, with a warning.
        daemon = startDaemon(config, agentId, 0);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (cp.registry().anchors().get(agentId).orElseThrow().warning().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        var kept = cp.registry().anchors().get(agentId).orElseThrow();
        assertEquals(anchored, kept.anchor().getSeq(), "a lower report never replaces the anchor");
        assertTrue(kept.warning().contains("its log went back"), kept.warning());
        CliRun agents = airlockCp("agents");
        assertTrue(agents.out().contains("warning: " + agentId) && agents.out().contains(anchored + "!"), agents.out());

        // The anchor is kept outside the agent, across restarts of the control plane.
        daemon.close();
        daemon = null;
        admin.close();
        admin = null;
        cp.close();
        var reloaded = new AuditAnchors(dir.resolve("cp/audit-anchors")).get(agentId).orElseThrow();
        assertEquals(anchored, reloaded.anchor().getSeq());
        assertFalse(reloaded.warning().isEmpty());
        cp = null;
    }

    private CliRun airlockCp(String sub, String... args) {
        List<String> full = new ArrayList<>(List.of("cp", sub, "--state-dir", dir.resolve("cp").toString()));
        full.addAll(List.of(args));
        return airlock(full.toArray(String[]::new));
    }
}
