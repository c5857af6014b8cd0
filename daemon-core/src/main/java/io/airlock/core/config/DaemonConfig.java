package io.airlock.core.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.airlock.core.egress.EgressRule;
import io.airlock.core.egress.ProxySettings;
import io.airlock.notation.Durations;
import io.airlock.tunnel.net.Cidr;
import io.airlock.tunnel.net.IpLiterals;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The daemon's configuration (YAML, snake_case keys). Every field has a default, so an empty
 * file is valid; docs/configuration.md documents each field. Records validate themselves and
 * name the field and the expected value when they refuse one.
 */
public record DaemonConfig(Path stateDir, ControlPlane controlPlane, Drivers drivers, Policy policy, Drain drain, Audit audit,
        Admin admin, Log log, McpConfig mcp, List<WorkerEnvironment> environments) {
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/airlock");

    public DaemonConfig {
        stateDir = stateDir == null ? DEFAULT_STATE_DIR : stateDir;
        controlPlane = controlPlane == null ? new ControlPlane(null, null, null, null, null, null) : controlPlane;
        drivers = drivers == null ? new Drivers(null, null, null) : drivers;
        policy = policy == null ? new Policy(null, null, null, null, null, null, null, null) : policy;
        drain = drain == null ? new Drain(null) : drain;
        audit = audit == null ? new Audit(null, null, null, null) : audit;
        admin = admin == null ? new Admin(null) : admin;
        log = log == null ? new Log(null, null) : log;
        mcp = mcp == null ? McpConfig.defaults() : mcp;
        environments = environments == null ? List.of() : List.copyOf(environments);
    }

    public DaemonConfig(Path stateDir, ControlPlane controlPlane, Drivers drivers, Policy policy, Drain drain) {
        this(stateDir, controlPlane, drivers, policy, drain, null, null, null, null, null);
    }

    /**
     * The operational log of {@code airlock run}: one line per event on stdout (journald takes it
     * from there). The audit log is separate and not affected.
     *
     * @param level  trace, debug, info, warn or error
     * @param format json (one JSON object per line) or text
     */
    public record Log(String level, String format) {
        static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error");

        public Log {
            level = level == null ? "info" : level.strip().toLowerCase(Locale.ROOT);
            if (!LEVELS.contains(level)) {
                throw new IllegalArgumentException("log.level: '" + level + "' (expected one of " + String.join(", ", LEVELS) + ")");
            }
            format = format == null ? "json" : format.strip().toLowerCase(Locale.ROOT);
            if (!format.equals("json") && !format.equals("text")) {
                throw new IllegalArgumentException("log.format: '" + format + "' (expected: json or text)");
            }
        }
    }

    /** @param listen loopback host:port of /healthz, /readyz, /metrics and /status; port 0 for any free one */
    public record Admin(String listen) {
        public Admin {
            listen = listen == null ? "127.0.0.1:9464" : listen;
            int colon = listen.lastIndexOf(':');
            String host = colon > 0 ? listen.substring(0, colon).replace("[", "").replace("]", "") : "";
            try {
                Integer.parseInt(listen.substring(colon + 1));
                if (colon <= 0 || !InetAddress.getByName(host).isLoopbackAddress()) {
                    throw new IllegalArgumentException("admin.listen: '" + listen + "' (expected a loopback host:port, e.g. 127.0.0.1:9464:"
                            + " the admin endpoint is never exposed beyond this machine)");
                }
            } catch (NumberFormatException | UnknownHostException e) {
                throw new IllegalArgumentException("admin.listen: '" + listen + "' (expected a loopback host:port, e.g. 127.0.0.1:9464)");
            }
        }

        public InetSocketAddress address() {
            int colon = listen.lastIndexOf(':');
            return new InetSocketAddress(listen.substring(0, colon).replace("[", "").replace("]", ""),
                    Integer.parseInt(listen.substring(colon + 1)));
        }
    }

    /** Where the audit log lives: {@code audit.dir}, or {@code state_dir/audit}. */
    public Path auditDir() {
        return audit.dir() != null ? audit.dir() : stateDir.resolve("audit");
    }

    /**
     * The audit log.
     *
     * @param dir           its directory (0700); default {@code state_dir/audit}
     * @param maxFileBytes  a file rotates when it reaches this size
     * @param durability    {@code each}: fsync every record; {@code group}: fsync every {@code groupInterval}
     * @param groupInterval the bound on what a crash may lose with {@code group}
     */
    public record Audit(Path dir, ByteSize maxFileBytes, String durability, Duration groupInterval) {
        public Audit {
            maxFileBytes = maxFileBytes == null ? new ByteSize(64L << 20) : maxFileBytes;
            if (maxFileBytes.bytes() < 4096) {
                throw new IllegalArgumentException("audit.max_file_bytes: " + maxFileBytes.bytes() + " (expected: at least 4096)");
            }
            durability = durability == null ? "each" : durability;
            if (!durability.equals("each") && !durability.equals("group")) {
                throw new IllegalArgumentException("audit.durability: '" + durability + "' (expected: each or group)");
            }
            groupInterval = ConfigChecks.positive("audit.group_interval", groupInterval, Duration.ofMillis(100));
        }
    }

    public static DaemonConfig defaults() {
        return new DaemonConfig(null, null, null, null, null);
    }

    public DaemonConfig withStateDir(Path dir) {
        return new DaemonConfig(dir, controlPlane, drivers, policy, drain, audit, admin, log, mcp, environments);
    }

    /**
     * @param address        host:port of the control plane; empty to use the one from enrollment
     * @param pingInterval   how often the daemon pings over the Control stream
     * @param pingTimeout    a Pong later than this marks the link dead (half-open detection)
     * @param connectTimeout how long a connection attempt may take until Welcome
     * @param drainWait      after the control plane's Drain, how long running commands may take before
     *                       the daemon reconnects anyway
     */
    public record ControlPlane(String address, Duration pingInterval, Duration pingTimeout, Duration connectTimeout,
            Duration drainWait, Backoff backoff) {
        public ControlPlane {
            address = address == null ? "" : address.strip();
            pingInterval = ConfigChecks.positive("ping_interval", pingInterval, Duration.ofSeconds(10));
            pingTimeout = ConfigChecks.positive("ping_timeout", pingTimeout, Duration.ofSeconds(5));
            connectTimeout = ConfigChecks.positive("connect_timeout", connectTimeout, Duration.ofSeconds(15));
            drainWait = ConfigChecks.positive("drain_wait", drainWait, Duration.ofSeconds(60));
            backoff = backoff == null ? new Backoff(null, null, null, null, null) : backoff;
        }
    }

    /**
     * Reconnect delays: {@code initial * multiplier^attempt}, capped at {@code max}, each
     * shortened at random by up to {@code jitter} of it; reset once a connection stayed up for
     * {@code reset_after}.
     */
    public record Backoff(Duration initial, Duration max, Double multiplier, Double jitter, Duration resetAfter) {
        public Backoff {
            initial = ConfigChecks.positive("initial", initial, Duration.ofSeconds(1));
            max = ConfigChecks.positive("max", max, Duration.ofSeconds(60));
            multiplier = multiplier == null ? 2.0 : multiplier;
            jitter = jitter == null ? 0.2 : jitter;
            resetAfter = ConfigChecks.positive("reset_after", resetAfter, Duration.ofSeconds(30));
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("max: " + max + " (expected: >= initial, " + initial + ")");
            }
            if (multiplier < 1.0) {
                throw new IllegalArgumentException("multiplier: " + multiplier + " (expected: >= 1.0)");
            }
            if (jitter < 0 || jitter > 1) {
                throw new IllegalArgumentException("jitter: " + jitter + " (expected: >= 0.0 and <= 1.0)");
            }
        }
    }

    /**
     * @param defaultDriver driver for sandboxes whose provision names none; empty for the
     *                      highest-priority available one
     * @param enabled       drivers to load; empty for every driver found on the class path
     * @param options       per-driver options, by driver name
     */
    public record Drivers(@JsonProperty("default") String defaultDriver, List<String> enabled, Map<String, Map<String, Object>> options) {
        public Drivers {
            defaultDriver = defaultDriver == null ? "" : defaultDriver.strip();
            enabled = List.copyOf(enabled == null ? List.of() : enabled);
            options = Map.copyOf(options == null ? Map.of() : options);
        }
    }

    /**
     * The local policy: what the control plane may ask for.
     *
     * @param maxLifetime a sandbox older than this is destroyed, busy or not (null: never)
     * @param idleTimeout a sandbox no command touched for this long is destroyed (null: never)
     */
    public record Policy(Integer maxSandboxes, Integer maxConcurrentCommands, Exec exec, Limits limits, ByteSize maxFileBytes,
            Duration maxLifetime, Duration idleTimeout, Egress egress) {
        public Policy {
            egress = egress == null ? new Egress(null, null, null, null, null, null) : egress;
            if (maxLifetime != null) {
                ConfigChecks.positive("max_lifetime", maxLifetime, maxLifetime);
            }
            if (idleTimeout != null) {
                ConfigChecks.positive("idle_timeout", idleTimeout, idleTimeout);
            }
            maxSandboxes = positive("max_sandboxes", maxSandboxes, 32);
            maxConcurrentCommands = positive("max_concurrent_commands", maxConcurrentCommands, 256);
            exec = exec == null ? new Exec(null, null, null, null) : exec;
            limits = limits == null ? new Limits(null, null, null, null, null, null, null) : limits;
            maxFileBytes = maxFileBytes == null ? new ByteSize(1L << 30) : maxFileBytes;
        }
    }

    /**
     * What sandboxes may reach over the network, through the daemon's egress proxy. {@code allow}
     * bounds every sandbox's allowlist: the control plane picks rules within it per sandbox, and
     * a sandbox it gives none reaches nothing. With {@code allow} empty, egress is off: no proxy
     * runs and sandboxes get no network at all.
     *
     * @param allow                     the operator's rules (a domain or a cidr each, optional ports)
     * @param maxConnectionsPerSandbox  open proxied connections one sandbox may hold
     * @param connectTimeout            how long dialling an allowed destination may take
     * @param idleTimeout               a proxied connection with no bytes either way for this long is closed
     * @param resolver                  DNS servers (host:port) the proxy asks; empty for the host's own (/etc/resolv.conf, /etc/hosts)
     * @param proxyPort                 the port sandboxes reach the proxy on
     */
    public record Egress(List<EgressAllow> allow, Integer maxConnectionsPerSandbox, Duration connectTimeout, Duration idleTimeout,
            List<String> resolver, Integer proxyPort) {
        public Egress {
            allow = List.copyOf(allow == null ? List.of() : allow);
            maxConnectionsPerSandbox = positive("max_connections_per_sandbox", maxConnectionsPerSandbox, 64);
            connectTimeout = ConfigChecks.positive("connect_timeout", connectTimeout, Duration.ofSeconds(10));
            idleTimeout = ConfigChecks.positive("idle_timeout", idleTimeout, Duration.ofMinutes(5));
            resolver = List.copyOf(resolver == null ? List.of() : resolver);
            for (String r : resolver) {
                hostPort("resolver", r);
            }
            proxyPort = positive("proxy_port", proxyPort, 3128);
            if (proxyPort > 65535) {
                throw new IllegalArgumentException("proxy_port: " + proxyPort + " (expected 1 to 65535)");
            }
        }

        public boolean enabled() {
            return !allow.isEmpty();
        }

        public List<EgressRule> rules() {
            return allow.stream().map(EgressAllow::rule).toList();
        }

        /** What the egress proxy needs of these settings. */
        public ProxySettings proxySettings() {
            return new ProxySettings(maxConnectionsPerSandbox, connectTimeout, idleTimeout, resolverAddresses(), proxyPort);
        }

        /** The resolver entries as socket addresses (host:port, IPv6 in brackets). */
        public List<InetSocketAddress> resolverAddresses() {
            return resolver.stream().map(r -> hostPort("resolver", r)).toList();
        }

        private static InetSocketAddress hostPort(String field, String value) {
            int colon = value.lastIndexOf(':');
            String host = colon > 0 ? value.substring(0, colon).replace("[", "").replace("]", "") : "";
            var literal = IpLiterals.parse(host);
            int port = -1;
            try {
                port = colon > 0 ? Integer.parseInt(value.substring(colon + 1)) : -1;
            } catch (NumberFormatException e) {
                // reported below
            }
            if (literal.isEmpty() || port < 1 || port > 65535) {
                throw new IllegalArgumentException(field + ": '" + value + "' (expected an IP address and port, like 127.0.0.53:53)");
            }
            return new InetSocketAddress(literal.get(), port);
        }
    }

    /** One operator rule: a domain (exact or *.suffix) or a cidr, and the ports it covers (none listed: any). */
    public record EgressAllow(String domain, String cidr, List<Integer> ports) {
        public EgressAllow {
            ports = List.copyOf(ports == null ? List.of() : ports);
            rule(domain, cidr, ports);
        }

        public EgressRule rule() {
            return rule(domain, cidr, ports);
        }

        private static EgressRule rule(String domain, String cidr, List<Integer> ports) {
            return new EgressRule(domain, cidr == null ? null : Cidr.parse(cidr),
                    Set.copyOf(ports));
        }
    }

    public record Exec(Duration defaultTimeout, Duration maxTimeout, ByteSize defaultOutputCap, ByteSize maxOutputCap) {
        public Exec {
            defaultTimeout = ConfigChecks.positive("default_timeout", defaultTimeout, Duration.ofMinutes(5));
            maxTimeout = ConfigChecks.positive("max_timeout", maxTimeout, Duration.ofHours(1));
            defaultOutputCap = defaultOutputCap == null ? new ByteSize(16L << 20) : defaultOutputCap;
            maxOutputCap = maxOutputCap == null ? new ByteSize(256L << 20) : maxOutputCap;
            if (defaultTimeout.compareTo(maxTimeout) > 0) {
                throw new IllegalArgumentException("default_timeout: " + Durations.format(defaultTimeout) + " (expected: at most max_timeout, "
                        + Durations.format(maxTimeout) + ")");
            }
            if (defaultOutputCap.bytes() > maxOutputCap.bytes() || defaultOutputCap.bytes() == 0) {
                throw new IllegalArgumentException("default_output_cap: " + defaultOutputCap.bytes() + " bytes (expected: > 0 and <= max_output_cap)");
            }
        }
    }

    /**
     * Sandbox resource limits: defaults applied when a provision names none, and maxima it may not exceed (0 = none).
     * The workspace default applies only on drivers that can limit a workspace.
     */
    public record Limits(ByteSize defaultMemory, ByteSize maxMemory, Integer defaultMaxProcesses, Integer maxProcesses,
            Long maxCpuSeconds, ByteSize defaultWorkspace, ByteSize maxWorkspace) {
        public Limits {
            defaultWorkspace = defaultWorkspace == null ? new ByteSize(0) : defaultWorkspace;
            maxWorkspace = maxWorkspace == null ? new ByteSize(0) : maxWorkspace;
            if (maxWorkspace.bytes() > 0 && defaultWorkspace.bytes() > maxWorkspace.bytes()) {
                throw new IllegalArgumentException("default_workspace: " + defaultWorkspace.bytes() + " bytes (expected: <= max_workspace)");
            }
            defaultMemory = defaultMemory == null ? new ByteSize(1L << 30) : defaultMemory;
            maxMemory = maxMemory == null ? new ByteSize(8L << 30) : maxMemory;
            defaultMaxProcesses = defaultMaxProcesses == null ? 0 : defaultMaxProcesses;
            maxProcesses = maxProcesses == null ? 4096 : maxProcesses;
            maxCpuSeconds = maxCpuSeconds == null ? 0L : maxCpuSeconds;
            if (maxMemory.bytes() > 0 && defaultMemory.bytes() > maxMemory.bytes()) {
                throw new IllegalArgumentException("default_memory: " + defaultMemory.bytes() + " bytes (expected: <= max_memory)");
            }
        }
    }

    /** @param gracePeriod how long in-flight commands may run after the first SIGTERM */
    public record Drain(Duration gracePeriod) {
        public Drain {
            gracePeriod = ConfigChecks.positive("grace_period", gracePeriod, Duration.ofSeconds(30));
        }
    }

    private static int positive(String field, Integer value, int fallback) {
        int v = value == null ? fallback : value;
        if (v <= 0) {
            throw new IllegalArgumentException(field + ": " + v + " (expected: > 0)");
        }
        return v;
    }
}
