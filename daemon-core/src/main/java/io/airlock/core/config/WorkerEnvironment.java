package io.airlock.core.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One self-hosted environment of a hosted agent platform that the daemon serves as a worker
 * (config section {@code environments:}): where its work queue is, which key opens it, and how
 * its sessions' sandboxes are made. docs/configuration.md documents each field.
 *
 * @param apiUrl        the platform's API base URL (https; http only to loopback)
 * @param environmentId the environment's id, e.g. env_...
 * @param keyFile       a file holding the environment key (0600; never in this file or argv)
 * @param workerId      sent as Anthropic-Worker-ID; default airlock-HOSTNAME-UUID, a new UUID per
 *                      daemon process (the SDK's HOSTNAME-UUID: workers can share a host, and the id must be unique)
 * @param concurrency   sessions served at once
 * @param driver        the sandbox driver for its sessions; empty for drivers.default
 * @param image         the image (or root) of its sandboxes; empty for the driver's default
 * @param tools         local rules over the agent's tools
 * @param leaseTtl      the lease asked for on each heartbeat (desired_ttl_seconds)
 * @param idleStop      a session idle this long after its turn ended is handed back (the item stopped, the sandbox destroyed)
 */
public record WorkerEnvironment(URI apiUrl, String environmentId, Path keyFile, String workerId, Integer concurrency, String driver,
        String image, Tools tools, Duration leaseTtl, Duration idleStop) {
    /** One per daemon process, so two daemons on one host never poll under one worker id. */
    private static final String PROCESS_UUID = java.util.UUID.randomUUID().toString();

    /** The tools of agent_toolset_20260401 that the worker runs. */
    public static final Set<String> TOOLSET = Set.of("bash", "read", "write", "edit", "glob", "grep");

    public WorkerEnvironment {
        if (apiUrl == null || apiUrl.getHost() == null) {
            throw new IllegalArgumentException("environments[].api_url: " + apiUrl + " (expected: the platform's API base URL, "
                    + "e.g. https://api.example.com)");
        }
        String scheme = apiUrl.getScheme() == null ? "" : apiUrl.getScheme().toLowerCase(Locale.ROOT);
        boolean loopback = apiUrl.getHost().equals("127.0.0.1") || apiUrl.getHost().equals("localhost") || apiUrl.getHost().equals("[::1]");
        if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
            throw new IllegalArgumentException("environments[].api_url: " + apiUrl + " (expected: https; plain http only to a loopback address)");
        }
        if (environmentId == null || !environmentId.matches("[A-Za-z0-9_-]{1,128}")) {
            throw new IllegalArgumentException("environments[].environment_id: '" + environmentId + "' (expected: the environment's id, "
                    + "letters, digits, '_' or '-')");
        }
        if (keyFile == null) {
            throw new IllegalArgumentException("environments[].key_file: missing (expected: a file holding the environment key, mode 0600)");
        }
        workerId = workerId == null || workerId.isBlank() ? "airlock-" + hostname() + "-" + PROCESS_UUID : workerId;
        concurrency = concurrency == null ? 4 : concurrency;
        if (concurrency <= 0 || concurrency > 1024) {
            throw new IllegalArgumentException("environments[].concurrency: " + concurrency + " (expected: 1 to 1024)");
        }
        driver = driver == null ? "" : driver;
        image = image == null ? "" : image;
        tools = tools == null ? new Tools(null, null, null) : tools;
        leaseTtl = ConfigChecks.positive("environments[].lease_ttl", leaseTtl, Duration.ofSeconds(60));
        idleStop = ConfigChecks.positive("environments[].idle_stop", idleStop, Duration.ofSeconds(60));
        if (leaseTtl.toSeconds() < 4 || leaseTtl.toSeconds() > 3600) {
            throw new IllegalArgumentException("environments[].lease_ttl: " + leaseTtl + " (expected: 4s to 1h)");
        }
    }

    /**
     * @param deny            tools refused in every session (each answered with an is_error result naming this rule)
     * @param approve         tools that run only once someone on this host approves each call ({@code airlock approvals allow ID})
     * @param approvalTimeout how long a call waits for that approval before it is answered as refused
     */
    public record Tools(List<String> deny, List<String> approve, Duration approvalTimeout) {
        public Tools(List<String> deny) {
            this(deny, null, null);
        }

        public Tools {
            deny = known("deny", deny);
            approve = known("approve", approve);
            approvalTimeout = ConfigChecks.positive("environments[].tools.approval_timeout", approvalTimeout, Duration.ofMinutes(5));
        }

        private static List<String> known(String field, List<String> tools) {
            List<String> list = tools == null ? List.of() : List.copyOf(tools);
            for (String t : list) {
                if (!TOOLSET.contains(t)) {
                    throw new IllegalArgumentException("environments[].tools." + field + ": '" + t + "' (expected one of "
                            + TOOLSET.stream().sorted().toList() + ")");
                }
            }
            return list;
        }
    }

    private static String hostname() {
        String h = System.getenv("HOSTNAME");
        if (h == null || h.isBlank()) {
            try {
                h = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.net.UnknownHostException e) {
                h = "host";
            }
        }
        return h;
    }
}
