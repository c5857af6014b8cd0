package io.airlock.daemon;

import io.airlock.connector.grpc.GrpcLink;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.CertificateRenewer;
import io.airlock.connector.worker.WorkerConnector;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.core.work.WorkRunner;
import io.airlock.driver.SandboxDriver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the agent says about itself: readiness (for {@code /ready}, systemd and tests) and the
 * status document ({@code /status}, {@code airlock status}), from one place. "Connected" is the
 * link's own state, never a copy kept elsewhere.
 *
 * @param link   the airlock.v1 link; null when not enrolled
 * @param worker the work-queue connector; null when no environments are configured
 */
record DaemonStatus(String agentId, String version, Path auditDir, GrpcLink link, WorkerConnector worker, SandboxService sandboxes,
        DriverRegistry drivers, WorkRunner runner) {

    /** Ready: connected to the control plane (when enrolled) and every environment's queue answering (when configured). */
    boolean ready() {
        boolean linkUp = link == null || link.isConnected();
        boolean queues = worker == null || worker.ready();
        return linkUp && queues && (link != null || worker != null);
    }

    /** Live sandboxes by state. */
    Map<String, Long> sandboxesByState() {
        Map<String, Long> byState = new TreeMap<>();
        sandboxes.list().forEach(s -> byState.merge(s.state().name(), 1L, Long::sum));
        return byState;
    }

    Map<String, Object> document() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("agent_id", agentId);
        s.put("version", version);
        s.put("ready", ready());
        if (link != null) {
            s.put("control_plane", link.address());
        }
        s.put("sandboxes", sandboxesByState());
        List<Map<String, Object>> ds = new ArrayList<>();
        for (SandboxDriver d : drivers.all().values()) {
            var down = d.unavailableReason();
            ds.add(Map.of("name", d.name(), "default", d.name().equals(drivers.defaultDriver()), "available", down.isEmpty(),
                    "reason", down.orElse("")));
        }
        s.put("drivers", ds);
        if (link != null) {
            AgentIdentity id = link.identity();
            var cert = id.certificate();
            s.put("certificate", Map.of("serial", cert.getSerialNumber().toString(16), "not_after", cert.getNotAfter().toInstant().toString(),
                    "renew_at", CertificateRenewer.renewAt(cert).toString(), "trusted_cas", id.caBundle().size()));
        }
        if (worker != null) {
            s.put("environments", worker.status());
        }
        s.put("audit_dir", auditDir.toString());
        s.put("in_flight_commands", runner.inFlight());
        return s;
    }
}
