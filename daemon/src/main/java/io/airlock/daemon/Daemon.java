package io.airlock.daemon;

import io.airlock.connector.grpc.ConnectionListener;
import io.airlock.connector.grpc.ConnectionListeners;
import io.airlock.connector.grpc.GrpcConnector;
import io.airlock.connector.grpc.ProtoCodec;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.CertificateRenewer;
import io.airlock.connector.grpc.identity.LiveCredentials;
import io.airlock.connector.worker.Approvals;
import io.airlock.connector.worker.WorkerConnector;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.ConfigReload;
import io.airlock.core.config.DaemonConfig;
import io.airlock.core.egress.EgressOutcome;
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
import io.airlock.driver.Capability;
import io.airlock.driver.Sandbox;
import io.airlock.driver.SandboxDriver;
import io.airlock.proto.v1.AuditAnchor;
import io.airlock.proto.v1.Capacity;
import io.airlock.proto.v1.DriverInfo;
import io.airlock.proto.v1.Hello;
import io.airlock.daemon.gateway.McpGateway;
import io.airlock.tunnel.mcp.McpAudit;
import io.airlock.tunnel.mcp.McpTunnel;
import io.airlock.tunnel.mcp.identity.CallerTokens;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root and lifecycle of the agent: the audit log, drivers (reconciled on start),
 * policy, the sandbox service and work runner of daemon-core, the airlock.v1 connector with the
 * agent's identity (when enrolled), and the work-queue connector (when environments are
 * configured); {@link #drain} is the first SIGTERM.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    /** The build's version (the Maven project's), sent in Hello and shown by status and --version. */
    public static final String VERSION = BuildVersion.VERSION;

    private volatile DaemonConfig config;
    /** Null when the agent is not enrolled and serves only work-queue environments. */
    private final AgentIdentity identity;
    private final String agentId;
    private final LiveCredentials credentials;
    private final CertificateRenewer renewer;
    private final DriverRegistry drivers;
    private final AuditLog audit;
    private final DaemonMetrics metrics;
    private volatile boolean connected;
    private final SystemdNotifier systemd = SystemdNotifier.from(System.getenv());
    private volatile AdminEndpoint admin;
    private final SandboxService sandboxes;
    private final AgentEvents events;
    private final WorkRunner runner;
    private final WorkJournal journal;
    /** Null when mcp.servers is empty. */
    private final McpTunnel tunnel;
    private CallerTokens callerTokens;
    private McpAudit mcpAudit;
    /** mcp.gateway: the listener and a tunnel of its own (its sessions do not belong to the control link); null when off. */
    private McpGateway gateway;
    private McpTunnel gatewayTunnel;
    /** The airlock.v1 link; null when the agent is not enrolled. */
    private final GrpcConnector connector;
    /** The work-queue worker; null when no environments are configured. */
    private volatile WorkerConnector worker;
    private final ExecutorService callbacks = Executors.newVirtualThreadPerTaskExecutor();
    private final ConnectionListeners listeners = new ConnectionListeners();
    private volatile boolean stopped;
    private Thread driverWatch;
    private final SandboxReaper reaper;
    /** Null when policy.egress allows nothing. */
    private final Egress egress;

    /**
     * The egress proxy and the allowlists it enforces. Outcomes are audited from the start; they
     * are counted in the metrics once those exist (the proxy starts before the drivers that use it).
     */
    private record Egress(EgressProxy proxy, SandboxEgress allowlists,
            AtomicReference<Consumer<EgressOutcome>> counted) {
        static Egress start(DaemonConfig config, AuditLog audit) {
            DaemonConfig.Egress settings = config.policy().egress();
            if (!settings.enabled()) {
                return null;
            }
            SandboxEgress allowlists = new SandboxEgress(new EgressPolicy(settings.rules()), config.stateDir().resolve("egress"));
            var counted = new AtomicReference<Consumer<EgressOutcome>>(o -> { });
            EgressProxy proxy = EgressProxy.start(settings.proxySettings(), allowlists::policyOf, o -> {
                audit.record("egress", o.auditFields());
                counted.get().accept(o);
            });
            return new Egress(proxy, allowlists, counted);
        }
    }

    /** Reports driver availability changes to the control plane (drivers recover by themselves). */
    private void watchDrivers() {
        Map<String, String> last = new HashMap<>();
        while (!stopped) {
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

    private Daemon(DaemonConfig config, AgentIdentity identity, DriverRegistry drivers, AuditLog audit, AgentEvents events,
            WorkJournal journal, Egress egress) throws Exception {
        this.config = config;
        this.identity = identity;
        this.agentId = identity != null ? identity.agentId() : WorkerIdentity.agentId(config.stateDir());
        this.drivers = drivers;
        this.audit = audit;
        this.events = events;
        this.egress = egress;
        LocalPolicy policy = new LocalPolicy(config.policy());
        this.sandboxes = new SandboxService(drivers, policy, events::sandboxChanged, egress == null ? null : egress.allowlists());
        this.journal = journal;
        this.metrics = new DaemonMetrics(() -> {
            Map<String, Long> byState = new TreeMap<>();
            sandboxes.list().forEach(s -> byState.merge(s.state().name(), 1L, Long::sum));
            return byState;
        }, this::mcpSessions, config.mcp().servers().keySet());
        audit.onAppend(metrics::auditAppend);
        listeners.add(new ConnectionListener() {
            @Override
            public void connected(String sessionId) {
                connected = true;
                metrics.connected(true);
                systemd.ready("connected to the control plane as agent " + agentId + "; " + sandboxes.list().size() + " sandbox(es)");
                audit.record("connection", Map.of("event", "connected", "session_id", sessionId, "agent_id", agentId));
            }

            @Override
            public void disconnected(String reason) {
                connected = false;
                metrics.connected(false);
                systemd.status("control connection lost (" + reason + "); reconnecting");
                audit.record("connection", Map.of("event", "disconnected", "reason", reason));
            }

            @Override
            public void reconnectScheduled(Duration delay) {
                metrics.reconnect();
            }
        });
        this.tunnel = startTunnel(config, agentId);
        this.runner = new WorkRunner(sandboxes, journal, audit, events,
                tunnel == null ? null : new WorkRunner.Mcp(tunnel, config.mcp().maxExchanges()), (item, outcome) -> {
                    metrics.command(item.work().action(), outcome instanceof Outcome.Failed f ? f.error().name() : "OK");
                    if (outcome instanceof Outcome.ExecDone x) {
                        metrics.exec(x.durationMs() / 1000.0);
                    }
                });
        if (tunnel != null) {
            listeners.add(new ConnectionListener() {
                @Override
                public void disconnected(String reason) {
                    // Sessions belong to the link that opened them: nothing may outlive it inside the network.
                    tunnel.closeAll("the control connection was lost (" + reason + ")");
                }
            });
        }
        if (egress != null) {
            egress.counted().set(o -> metrics.egress(o.decision().wireName()));
        }
        int adopted = sandboxes.reconcile().size();
        log.info("agent {}: {} live sandbox(es) adopted on start", agentId, adopted);
        this.reaper = SandboxReaper.startIfNeeded(sandboxes, config.policy().maxLifetime(), config.policy().idleTimeout());
        if (identity == null) {
            log.info("not enrolled with an airlock.v1 control plane: serving work-queue environments only");
            this.credentials = null;
            this.connector = null;
            this.renewer = null;
            return;
        }
        this.credentials = new LiveCredentials(identity);
        metrics.certificate(identity.certificate().getNotAfter().toInstant());
        String address = config.controlPlane().address().isEmpty() ? identity.controlPlaneAddress() : config.controlPlane().address();
        this.connector = new GrpcConnector(runner, config.controlPlane(), () -> channel(address, credentials.tls()), this::hello,
                this::auditAnchor, listeners);
        events.subscribe(connector);
        this.renewer = new CertificateRenewer(config.stateDir(), credentials, connector::liveChannel, Clock.systemUTC(), renewalAudit());
    }

    /** The MCP tunnel over the configured servers, or null when there are none. */
    private McpTunnel startTunnel(DaemonConfig config, String agentId) throws IOException {
        if (!config.mcp().enabled()) {
            return null;
        }
        this.callerTokens = CallerTokens.loadOrCreate(config.stateDir().resolve("mcp"), agentId, config.mcp().identityTtl());
        this.mcpAudit = new McpAudit() {
            @Override
            public void record(Map<String, Object> fields) {
                metrics.mcp(String.valueOf(fields.get("server")), String.valueOf(fields.get("outcome")));
                audit.record("mcp", fields);
            }

            @Override
            public String hash(String value) {
                return audit.hashed(value);
            }
        };
        var t = new McpTunnel(config.mcp().specs(), config.mcp().addresses(), callerTokens,
                config.mcp().identityHeader(), mcpAudit);
        log.info("MCP tunnel: servers {}", t.servers());
        return t;
    }

    /** Renewals and failed attempts go to the audit log and the metrics. */
    private CertificateRenewer.Listener renewalAudit() {
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

    /**
     * Loads the identity, starts the drivers (adopting live sandboxes), begins connecting, and
     * starts the work-queue worker. Not enrolled is fine when environments are configured: the
     * daemon then serves those alone.
     */
    public static Daemon start(DaemonConfig config, ConnectionListener... listeners) throws Exception {
        // The audit log first: its lock is what keeps a second daemon on this state directory from
        // touching anything (reconciling sandboxes, recovering the identity) before it is refused.
        AuditLog audit;
        try {
            audit = AuditLog.open(config.auditDir(), config.audit().maxFileBytes().bytes(),
                    config.audit().durability().equals("group") ? AuditLog.Durability.GROUP : AuditLog.Durability.EACH,
                    config.audit().groupInterval());
        } catch (IOException | RuntimeException e) {
            throw new StartupException("cannot open the audit log in " + config.auditDir() + ": " + e.getMessage()
                    + " (check audit.dir and its permissions; 'airlock audit verify' says what is wrong with an existing log)", e);
        }
        AgentIdentity identity;
        Egress egress = null;
        DriverRegistry drivers;
        // Events exist before the drivers that report to them; connectors subscribe as they are made.
        AgentEvents events = new AgentEvents(audit);
        try {
            AgentIdentity.recover(config.stateDir());
            boolean workerOnly = !config.environments().isEmpty() && !AgentIdentity.exists(config.stateDir());
            identity = workerOnly ? null : AgentIdentity.load(config.stateDir());
            egress = Egress.start(config, audit);
            drivers = DriverRegistry.create(config.drivers(), workerOnly ? WorkerIdentity.agentId(config.stateDir()) : identity.agentId(),
                    config.stateDir(), events::driverEvent,
                    egress == null ? null : egress.proxy());
        } catch (Exception e) {
            if (egress != null) {
                egress.proxy().close();
            }
            audit.close();
            throw e;
        }
        Daemon daemon;
        WorkJournal journal = null;
        try {
            journal = WorkJournal.open(config.stateDir().resolve("commands.journal"), WorkRunner.LEDGER_RETENTION);
            daemon = new Daemon(config, identity, drivers, audit, events, journal, egress);
        } catch (Exception e) {
            if (journal != null) {
                journal.close();
            }
            drivers.close();
            audit.close();
            if (egress != null) {
                egress.proxy().close();
            }
            throw e;
        }
        for (ConnectionListener l : listeners) {
            daemon.listeners.add(l);
        }
        try {
            daemon.admin = AdminEndpoint.start(config.admin().address(), daemon.metrics, daemon::ready, daemon::status, config.stateDir(),
                    daemon.callerTokens == null ? null : daemon.callerTokens.jwks());
        } catch (IOException e) {
            daemon.stop();
            throw new StartupException("cannot serve the admin endpoint on " + config.admin().listen() + ": " + e.getMessage()
                    + " (set admin.listen to a free loopback port, or stop the daemon that holds it)", e);
        }
        if (config.mcp().gateway() != null) {
            try {
                daemon.gatewayTunnel = new McpTunnel(config.mcp().specs(), config.mcp().addresses(), daemon.callerTokens,
                        config.mcp().identityHeader(), daemon.mcpAudit);
                daemon.gateway = McpGateway.start(config.mcp().gateway(), daemon.gatewayTunnel, config.mcp().maxExchanges());
                log.info("MCP gateway: serving {} at SERVER.{} on {}", daemon.gatewayTunnel.servers(), config.mcp().gateway().tunnelDomain(),
                        daemon.gateway.address());
            } catch (IOException e) {
                daemon.stop();
                throw new StartupException("cannot serve mcp.gateway: " + e.getMessage(), e);
            }
        }
        if (daemon.connector != null) {
            daemon.connector.start();
            daemon.renewer.start();
        }
        if (!config.environments().isEmpty()) {
            try {
                daemon.worker = WorkerConnector.start(config.environments(), daemon.sandboxes, audit,
                        new Approvals(config.stateDir().resolve("approvals")));
            } catch (IOException e) {
                daemon.stop();
                throw new StartupException("cannot serve the configured environments: " + e.getMessage(), e);
            }
            daemon.metrics.worker(daemon.worker::status);
            if (daemon.connector == null) {
                daemon.systemd.ready("serving " + config.environments().size() + " work-queue environment(s) as " + daemon.agentId);
            }
        }
        daemon.driverWatch = Thread.ofVirtual().name("driver-watch").start(daemon::watchDrivers);
        return daemon;
    }

    private ManagedChannel channel(String address, SslContext tls) {
        return NettyChannelBuilder.forTarget(address)
                .sslContext(tls)
                // Callbacks may block on a process pipe or a file (that is the flow control); virtual threads make that cheap.
                .executor(callbacks)
                .maxInboundMessageSize(4 << 20)
                .build();
    }

    /** The newest audit record on disk, for the control plane to keep outside this host. */
    private AuditAnchor auditAnchor() {
        return audit.durableHead().map(a -> AuditAnchor.newBuilder().setSeq(a.seq()).setSha256(a.hash()).build())
                .orElse(null);
    }

    private Hello hello() {
        Hello.Builder h = Hello.newBuilder().setAgentId(identity.agentId()).setVersion(VERSION);
        var anchor = auditAnchor();
        if (anchor != null) {
            h.setAuditAnchor(anchor);
        }
        for (SandboxDriver d : drivers.all().values()) {
            var down = d.unavailableReason();
            h.addDrivers(DriverInfo.newBuilder().setName(d.name()).setIsDefault(d.name().equals(drivers.defaultDriver()))
                    .setAvailable(down.isEmpty()).setUnavailableReason(down.orElse(""))
                    .addAllCapabilities(d.capabilities().stream().map(Capability::wireName).sorted().toList()));
        }
        List<Sandbox> live = sandboxes.list();
        h.setCapacity(Capacity.newBuilder().setMaxSandboxes(config.policy().maxSandboxes()).setActiveSandboxes(live.size()));
        live.forEach(s -> h.addInventory(ProtoCodec.sandbox(runner.view(s))));
        return h.build();
    }

    /** Open MCP sessions by server (empty when the tunnel is off). */
    public Map<String, Integer> mcpSessions() {
        return tunnel == null ? Map.of() : tunnel.sessions();
    }

    /** Ready: connected to the control plane (when enrolled) and every environment's queue answering (when configured). */
    public boolean ready() {
        WorkerConnector w = worker;
        boolean link = connector == null || connected;
        boolean queues = config.environments().isEmpty() || w != null && w.ready();
        return link && queues && (connector != null || w != null);
    }

    /** What /status shows and {@code airlock status} prints. */
    private Map<String, Object> status() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("agent_id", agentId);
        s.put("version", VERSION);
        s.put("ready", ready());
        if (identity != null) {
            s.put("control_plane", config.controlPlane().address().isEmpty() ? identity.controlPlaneAddress() : config.controlPlane().address());
        }
        Map<String, Long> byState = new TreeMap<>();
        sandboxes.list().forEach(x -> byState.merge(x.state().name(), 1L, Long::sum));
        s.put("sandboxes", byState);
        List<Map<String, Object>> ds = new ArrayList<>();
        for (SandboxDriver d : drivers.all().values()) {
            var down = d.unavailableReason();
            ds.add(Map.of("name", d.name(), "default", d.name().equals(drivers.defaultDriver()), "available", down.isEmpty(),
                    "reason", down.orElse("")));
        }
        s.put("drivers", ds);
        if (credentials != null) {
            var cert = credentials.current().certificate();
            s.put("certificate", Map.of("serial", cert.getSerialNumber().toString(16), "not_after", cert.getNotAfter().toInstant().toString(),
                    "renew_at", CertificateRenewer.renewAt(cert).toString(), "trusted_cas", credentials.current().caBundle().size()));
        }
        WorkerConnector w = worker;
        if (w != null) {
            s.put("environments", w.status());
        }
        s.put("audit_dir", config.auditDir().toString());
        s.put("in_flight_commands", runner.inFlight());
        return s;
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
        return credentials == null ? null : credentials.current();
    }

    public SandboxService sandboxes() {
        return sandboxes;
    }

    /** Commands running now (for status and tests). */
    public int commandsInFlight() {
        return runner.inFlight();
    }

    public boolean isConnected() {
        return connector != null && connector.isConnected();
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
        if (connector != null) {
            connector.sendDrainNotice(reason, System.currentTimeMillis() + grace.toMillis());
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

    /** Immediate stop (second SIGTERM, tests). */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        if (driverWatch != null) {
            driverWatch.interrupt();
        }
        if (reaper != null) {
            reaper.close();
        }
        if (admin != null) {
            admin.close();
        }
        WorkerConnector w = worker;
        if (w != null) {
            w.close(); // each session's sandbox is destroyed and its item handed back
        }
        if (connector != null) {
            renewer.close();
            connector.close(Duration.ofSeconds(2));
        }
        drivers.close();
        if (egress != null) {
            egress.proxy().close(); // open proxied connections close now, and each is audited
        }
        if (tunnel != null) {
            tunnel.close(); // stdio servers stop, HTTP sessions are ended upstream
        }
        if (gateway != null) {
            gateway.close();
        }
        if (gatewayTunnel != null) {
            gatewayTunnel.close();
        }
        callbacks.shutdownNow();
        audit.record("audit.stopped", Map.of("reason", "daemon stopped"));
        audit.close();
        journal.close();
        systemd.close();
        log.info("stopped");
    }

    @Override
    public void close() {
        stop();
    }
}
