package io.airlock.daemon;

import io.airlock.connector.grpc.ConnectionListener;
import io.airlock.connector.grpc.ConnectionListeners;
import io.airlock.connector.grpc.GrpcLink;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.CertificateRenewer;
import io.airlock.connector.worker.Approvals;
import io.airlock.connector.worker.WorkerConnector;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.ConfigReload;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.egress.EgressPolicy;
import io.airlock.core.egress.EgressProxy;
import io.airlock.core.egress.SandboxEgress;
import io.airlock.core.sandbox.DriverRegistry;
import io.airlock.core.sandbox.LocalPolicy;
import io.airlock.core.sandbox.SandboxReaper;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.core.work.AgentEvents;
import io.airlock.core.work.Outcome;
import io.airlock.core.work.WorkJournal;
import io.airlock.core.work.WorkRunner;
import io.airlock.daemon.admin.AdminEndpoint;
import io.airlock.daemon.admin.DaemonMetrics;
import io.airlock.daemon.systemd.SystemdNotifier;
import io.airlock.driver.SandboxDriver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root and lifecycle of the agent, assembled in stages, each built whole before
 * the next and registered with one {@link Closer} that closes them in reverse on every path (a
 * start that fails halfway, a stop): metrics; the audit log; the identity; egress; drivers and the
 * sandbox service (reconciled on start) with its reaper; the MCP side; the work runner; the
 * airlock.v1 link (when enrolled); the work-queue worker (when environments are configured); the
 * admin endpoint. {@link #drain} is the first SIGTERM.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    /** The build's version (the Maven project's), sent in Hello and shown by status and --version. */
    public static final String VERSION = BuildVersion.VERSION;

    private volatile DaemonConfig config;
    private final String agentId;
    private final AuditLog audit;
    private final SandboxService sandboxes;
    private final WorkRunner runner;
    /** Null when mcp.servers is empty. */
    private final McpServing mcp;
    /** Null when the agent is not enrolled and serves only work-queue environments. */
    private final GrpcLink link;
    private final ConnectionListeners listeners;
    private final DaemonStatus status;
    private final AdminEndpoint admin;
    private final SystemdNotifier systemd;
    private final Closer closer;
    private volatile boolean stopped;

    private Daemon(DaemonConfig config, String agentId, AuditLog audit, SandboxService sandboxes, WorkRunner runner, McpServing mcp,
            GrpcLink link, ConnectionListeners listeners, DaemonStatus status, AdminEndpoint admin, SystemdNotifier systemd, Closer closer) {
        this.config = config;
        this.agentId = agentId;
        this.audit = audit;
        this.sandboxes = sandboxes;
        this.runner = runner;
        this.mcp = mcp;
        this.link = link;
        this.listeners = listeners;
        this.status = status;
        this.admin = admin;
        this.systemd = systemd;
        this.closer = closer;
    }

    /**
     * Loads the identity, starts the drivers (adopting live sandboxes), begins connecting, and
     * starts the work-queue worker. Not enrolled is fine when environments are configured: the
     * daemon then serves those alone. A stage that cannot start closes every stage before it.
     */
    public static Daemon start(DaemonConfig config, ConnectionListener... extraListeners) throws Exception {
        Closer closer = new Closer();
        try {
            return assemble(config, closer, extraListeners);
        } catch (Exception | Error e) {
            closer.close();
            throw e;
        }
    }

    private static Daemon assemble(DaemonConfig config, Closer closer, ConnectionListener... extraListeners) throws Exception {
        SystemdNotifier systemd = closer.add("systemd notifier", SystemdNotifier.from(System.getenv()));
        DaemonMetrics metrics = new DaemonMetrics(config.mcp().servers().keySet());
        // The audit log first: its lock is what keeps a second daemon on this state directory from
        // touching anything (reconciling sandboxes, recovering the identity) before it is refused.
        AuditLog audit = openAudit(config);
        closer.onClose("audit log", () -> {
            audit.record("audit.stopped", Map.of("reason", "daemon stopped"));
            audit.close();
        });
        audit.onAppend(metrics::auditAppend);

        AgentIdentity.recover(config.stateDir());
        boolean workerOnly = !config.environments().isEmpty() && !AgentIdentity.exists(config.stateDir());
        AgentIdentity identity = workerOnly ? null : AgentIdentity.load(config.stateDir());
        String agentId = identity != null ? identity.agentId() : WorkerIdentity.agentId(config.stateDir());

        Egress egress = closer.add("egress proxy", Egress.start(config, audit, metrics));
        // Events exist before the drivers that report to them; connectors subscribe as they are made.
        AgentEvents events = new AgentEvents(audit);
        DriverRegistry drivers = closer.add("drivers", DriverRegistry.create(config.drivers(), agentId, config.stateDir(),
                events::driverEvent, egress == null ? null : egress.proxy()));
        WorkJournal journal = closer.add("command journal",
                WorkJournal.open(config.stateDir().resolve("commands.journal"), WorkRunner.LEDGER_RETENTION));
        SandboxService sandboxes = new SandboxService(drivers, new LocalPolicy(config.policy()), events::sandboxChanged,
                egress == null ? null : egress.allowlists());
        int adopted = sandboxes.reconcile().size();
        log.info("agent {}: {} live sandbox(es) adopted on start", agentId, adopted);
        closer.add("sandbox reaper", SandboxReaper.startIfNeeded(sandboxes, config.policy().maxLifetime(), config.policy().idleTimeout()));

        McpServing mcp = closer.add("MCP", McpServing.start(config, agentId, audit, metrics));
        metrics.mcpSessions(mcp == null ? Map::of : mcp::sessions);
        WorkRunner runner = new WorkRunner(sandboxes, journal, audit, events,
                mcp == null ? null : new WorkRunner.Mcp(mcp.tunnel(), config.mcp().maxExchanges()), (item, outcome) -> {
                    metrics.command(item.work().action(), outcome instanceof Outcome.Failed f ? f.error().name() : "OK");
                    if (outcome instanceof Outcome.ExecDone x) {
                        metrics.exec(x.durationMs() / 1000.0);
                    }
                });

        ConnectionListeners listeners = new ConnectionListeners();
        listeners.add(linkRecorder(agentId, audit, metrics, systemd, sandboxes));
        if (mcp != null) {
            // Sessions belong to the link that opened them: nothing may outlive it inside the network.
            listeners.add(new ConnectionListener() {
                @Override
                public void disconnected(String reason) {
                    mcp.tunnel().closeAll("the control connection was lost (" + reason + ")");
                }
            });
        }
        for (ConnectionListener l : extraListeners) {
            listeners.add(l);
        }
        GrpcLink link = null;
        if (identity == null) {
            log.info("not enrolled with an airlock.v1 control plane: serving work-queue environments only");
        } else {
            metrics.certificate(identity.certificate().getNotAfter().toInstant());
            link = closer.add("control link", GrpcLink.start(identity, config,
                    new GrpcLink.Inventory(agentId, VERSION, drivers, sandboxes, runner, audit::durableHead), events, listeners,
                    renewalRecorder(agentId, audit, metrics)));
        }

        WorkerConnector worker = null;
        if (!config.environments().isEmpty()) {
            try {
                worker = closer.add("work-queue worker", WorkerConnector.start(config.environments(), sandboxes, audit,
                        new Approvals(config.stateDir().resolve("approvals"))));
            } catch (IOException e) {
                throw new StartupException("cannot serve the configured environments: " + e.getMessage(), e);
            }
            metrics.worker(worker::status);
        }

        DaemonStatus status = new DaemonStatus(agentId, VERSION, config.auditDir(), link, worker, sandboxes, drivers, runner);
        metrics.sandboxes(status::sandboxesByState);
        AdminEndpoint admin;
        try {
            admin = closer.add("admin endpoint", AdminEndpoint.start(config.admin().address(), metrics, status::ready, status::document,
                    config.stateDir(), mcp == null ? null : mcp.callerTokens().jwks()));
        } catch (IOException e) {
            throw new StartupException("cannot serve the admin endpoint on " + config.admin().listen() + ": " + e.getMessage()
                    + " (set admin.listen to a free loopback port, or stop the daemon that holds it)", e);
        }
        Thread driverWatch = Thread.ofVirtual().name("driver-watch").start(() -> watchDrivers(drivers, events));
        closer.onClose("driver watch", driverWatch::interrupt);
        if (link == null && worker != null) {
            systemd.ready("serving " + config.environments().size() + " work-queue environment(s) as " + agentId);
        }
        return new Daemon(config, agentId, audit, sandboxes, runner, mcp, link, listeners, status, admin, systemd, closer);
    }

    private static AuditLog openAudit(DaemonConfig config) throws StartupException {
        try {
            return AuditLog.open(config.auditDir(), config.audit().maxFileBytes().bytes(),
                    config.audit().durability().equals("group") ? AuditLog.Durability.GROUP : AuditLog.Durability.EACH,
                    config.audit().groupInterval());
        } catch (IOException | RuntimeException e) {
            throw new StartupException("cannot open the audit log in " + config.auditDir() + ": " + e.getMessage()
                    + " (check audit.dir and its permissions; 'airlock audit verify' says what is wrong with an existing log)", e);
        }
    }

    /** The egress proxy and the allowlists it enforces; outcomes are audited and counted from the start. */
    private record Egress(EgressProxy proxy, SandboxEgress allowlists) implements AutoCloseable {
        /** Null when policy.egress allows nothing. */
        static Egress start(DaemonConfig config, AuditLog audit, DaemonMetrics metrics) {
            DaemonConfig.Egress settings = config.policy().egress();
            if (!settings.enabled()) {
                return null;
            }
            SandboxEgress allowlists = new SandboxEgress(new EgressPolicy(settings.rules()), config.stateDir().resolve("egress"));
            EgressProxy proxy = EgressProxy.start(settings.proxySettings(), allowlists::policyOf, o -> {
                audit.record("egress", o.auditFields());
                metrics.egress(o.decision().wireName());
            });
            return new Egress(proxy, allowlists);
        }

        /** Open proxied connections close now, and each is audited. */
        @Override
        public void close() {
            proxy.close();
        }
    }

    /** The link's changes go to the metrics, systemd and the audit log (told off the session's loop). */
    private static ConnectionListener linkRecorder(String agentId, AuditLog audit, DaemonMetrics metrics, SystemdNotifier systemd,
            SandboxService sandboxes) {
        return new ConnectionListener() {
            @Override
            public void connected(String sessionId) {
                metrics.connected(true);
                systemd.ready("connected to the control plane as agent " + agentId + "; " + sandboxes.list().size() + " sandbox(es)");
                audit.record("connection", Map.of("event", "connected", "session_id", sessionId, "agent_id", agentId));
            }

            @Override
            public void disconnected(String reason) {
                metrics.connected(false);
                systemd.status("control connection lost (" + reason + "); reconnecting");
                audit.record("connection", Map.of("event", "disconnected", "reason", reason));
            }

            @Override
            public void reconnectScheduled(Duration delay) {
                metrics.reconnect();
            }
        };
    }

    /** Renewals and failed attempts go to the audit log and the metrics. */
    private static CertificateRenewer.Listener renewalRecorder(String agentId, AuditLog audit, DaemonMetrics metrics) {
        return new CertificateRenewer.Listener() {
            @Override
            public void renewed(AgentIdentity before, AgentIdentity after) {
                metrics.renewal(true);
                metrics.certificate(after.certificate().getNotAfter().toInstant());
                audit.record("identity", Map.of("event", "certificate_renewed", "agent_id", after.agentId(),
                        "previous_serial", before.certificate().getSerialNumber().toString(16),
                        "serial", after.certificate().getSerialNumber().toString(16),
                        "not_after", after.certificate().getNotAfter().toInstant().toString(),
                        "ca_certificates", after.caBundle().size()));
            }

            @Override
            public void failed(String reason, Instant nextAttempt) {
                metrics.renewal(false);
                audit.record("identity", Map.of("event", "certificate_renewal_failed", "agent_id", agentId,
                        "reason", reason, "next_attempt", nextAttempt.toString()));
            }
        };
    }

    /** Reports driver availability changes to the control plane (drivers recover by themselves). */
    private static void watchDrivers(DriverRegistry drivers, AgentEvents events) {
        Map<String, String> last = new HashMap<>();
        while (!Thread.currentThread().isInterrupted()) {
            for (SandboxDriver d : drivers.all().values()) {
                String now = d.unavailableReason().orElse("");
                String before = last.put(d.name(), now);
                if (before != null && !before.equals(now)) {
                    events.driverChanged(d.name(), now.isEmpty(), now);
                }
            }
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Ready: connected to the control plane (when enrolled) and every environment's queue answering (when configured). */
    public boolean ready() {
        return status.ready();
    }

    /** Open MCP sessions by server (empty when the tunnel is off). */
    public Map<String, Integer> mcpSessions() {
        return mcp == null ? Map.of() : mcp.sessions();
    }

    /**
     * Applies a reloaded configuration (SIGHUP) without touching connections or running work:
     * see {@link ConfigReload} for what takes effect and what waits for a restart. Audited.
     */
    public synchronized ConfigReload.Result reload(DaemonConfig next) {
        ConfigReload.Result r = ConfigReload.merge(config, next);
        config = r.config();
        sandboxes.policy().update(r.config().policy());
        audit.record("config.reloaded", Map.of("applied", r.applied(), "restart_needed", r.restartNeeded()));
        return r;
    }

    /** A reload that could not be applied (the file did not load): the running configuration stays. Audited. */
    public void reloadRefused(String reason) {
        audit.record("config.reload_refused", Map.of("reason", reason));
    }

    /** The admin endpoint's address (tests: it may be on a free port). */
    public InetSocketAddress adminAddress() {
        return admin.address();
    }

    public String agentId() {
        return agentId;
    }

    /** The identity in use now: renewal replaces key, certificate and CA bundle. Null when not enrolled. */
    public AgentIdentity identity() {
        return link == null ? null : link.identity();
    }

    public SandboxService sandboxes() {
        return sandboxes;
    }

    /** Commands running now (for status and tests). */
    public int commandsInFlight() {
        return runner.inFlight();
    }

    public boolean isConnected() {
        return link != null && link.isConnected();
    }

    public void addListener(ConnectionListener listener) {
        listeners.add(listener);
    }

    /**
     * Graceful stop: no new commands, the control plane is told, in-flight commands get the
     * grace period, then the stream closes. Sandboxes are left running: they outlive the daemon.
     */
    public void drain(String reason) {
        if (stopped) {
            return;
        }
        Duration grace = config.drain().gracePeriod();
        log.info("draining ({}): {} command(s) in flight, grace period {}", reason, runner.inFlight(), grace);
        systemd.stopping("draining (" + reason + "): " + runner.inFlight() + " command(s) in flight, grace period " + grace);
        runner.startDraining();
        if (link != null) {
            link.sendDrainNotice(reason, System.currentTimeMillis() + grace.toMillis());
        }
        try {
            if (!runner.awaitIdle(grace)) {
                log.warn("grace period over with {} command(s) still running; stopping anyway", runner.inFlight());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop();
    }

    /**
     * Immediate stop (second SIGTERM, tests): every stage closes, the last built first (the
     * worker destroys each session's sandbox and hands its item back; the link closes its stream;
     * the audit log's last record says the daemon stopped). Sandboxes of the control plane stay.
     */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        closer.close();
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }
}
