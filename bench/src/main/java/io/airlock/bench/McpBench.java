package io.airlock.bench;

import ch.qos.logback.classic.Level;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.controlplane.mcp.McpEndpoint;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench mcp}: MCP tools/call round trip and large-response throughput through the
 * tunnel (caller -> control plane endpoint -> mTLS -> daemon -> MCP server), against the same
 * client talking to the same server directly, and against supergateway from npm doing the same
 * job (one stdio server per session served as Streamable HTTP); all interleaved call by call.
 * Then many sessions at once through the tunnel, with the daemon's heap read while they are open.
 * The daemon runs as a JVM of its own with a bounded heap, so its memory is its own.
 */
@Command(name = "mcp", mixinStandardHelpOptions = true,
        description = {"MCP round trip and throughput through the tunnel vs direct vs supergateway, then many concurrent sessions",
            "with the daemon's heap measured. Needs node and the npm packages of mcp-peers/ (npm install --no-package-lock)."})
public final class McpBench implements Callable<Integer> {
    private static final String TOKEN = "bench-token";

    @Option(names = "--calls", description = "Measured tools/call round trips per target. Default: ${DEFAULT-VALUE}")
    int calls = 1000;

    @Option(names = "--warmup", description = "Unmeasured round trips per target first (JIT). Default: ${DEFAULT-VALUE}")
    int warmup = 1500;

    @Option(names = "--payload-kib", description = "Size of each large response in KiB. Default: ${DEFAULT-VALUE}")
    int payloadKib = 4096;

    @Option(names = "--downloads", description = "Measured large responses per target. Default: ${DEFAULT-VALUE}")
    int downloads = 15;

    @Option(names = "--download-warmup", description = "Unmeasured large responses per target first (JIT). Default: ${DEFAULT-VALUE}")
    int downloadWarmup = 20;

    @Option(names = "--sessions", description = "MCP sessions open at once through the tunnel in the last part. Default: ${DEFAULT-VALUE}")
    int sessions = 1000;

    @Option(names = "--daemon-heap", description = "The daemon JVM's -Xmx. Default: ${DEFAULT-VALUE}")
    String daemonHeap = "256m";

    @Option(names = "--audit-durability", description = "The daemon's audit.durability: each or group. Default: ${DEFAULT-VALUE}")
    String auditDurability = "each";

    @Option(names = "--daemon-jvm-option", description = "An extra option for the daemon's JVM (repeatable), e.g. to profile it")
    List<String> daemonJvmOptions = new ArrayList<>();

    @Option(names = "--mcp-peers", description = "The mcp-peers directory (node_modules installed). Default: mcp-peers of this checkout")
    Path peers;

    private final McpCaller caller = new McpCaller();

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        Path peerDir = (peers != null ? peers : checkoutPeers()).toAbsolutePath();
        Path gateway = peerDir.resolve("node_modules/supergateway/dist/index.js");
        Path benchServer = peerDir.resolve("bench-server.mjs");
        String node = BenchProcesses.onPath("node").map(Path::toString).orElse(null);
        if (node == null || !Files.exists(gateway) || !Files.exists(benchServer)) {
            System.err.println("error: the MCP benchmark needs node and the npm packages of " + peerDir
                    + " (apt-get install nodejs npm; cd mcp-peers && npm install --no-package-lock)");
            return 2;
        }
        Path dir = Files.createTempDirectory("airlock-bench-mcp-");
        int upstreamPort = BenchProcesses.freePort();
        int gatewayPort = BenchProcesses.freePort();
        Process upstream = null;
        Process supergateway = null;
        ControlPlaneServer cp = null;
        McpEndpoint endpoint = null;
        BenchProcesses.Daemon daemon = null;
        try {
            upstream = BenchProcesses.startListening(List.of(node, benchServer.toString(), "http", Integer.toString(upstreamPort)),
                    upstreamPort, dir.resolve("bench-server.log"), "the bench MCP server");
            supergateway = BenchProcesses.startListening(List.of(node, gateway.toString(), "--stdio", node + " " + benchServer + " stdio",
                    "--outputTransport", "streamableHttp", "--stateful", "--port", Integer.toString(gatewayPort), "--logLevel", "none"),
                    gatewayPort, dir.resolve("supergateway.log"), "supergateway");

            cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("controlplane"), 0));
            endpoint = McpEndpoint.start(cp.agents(), new InetSocketAddress("127.0.0.1", 0), TOKEN);
            Path agentState = dir.resolve("agent");
            String agent = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), agentState, "bench").agentId();
            Path config = dir.resolve("airlock.yaml");
            CertificateAuthority.writePrivate(config, """
                    state_dir: %s
                    admin: {listen: "127.0.0.1:0"}
                    drivers: {default: bubblewrap, enabled: [bubblewrap]}
                    log: {level: warn}
                    audit: {durability: %s}
                    mcp:
                      servers:
                        bench-http: {url: "http://127.0.0.1:%d/mcp", max_sessions: %d}
                        bench-stdio: {command: ["%s", "%s", "stdio"]}
                    """.formatted(agentState, auditDurability, upstreamPort, sessions + 100, node, benchServer));
            daemon = new BenchProcesses.Daemon(config, agentState, daemonHeap, daemonJvmOptions, dir.resolve("daemon.log"));
            if (!cp.registry().awaitConnected(agent, h -> true, Duration.ofSeconds(60))) {
                System.err.println("error: the daemon did not connect within 60 s; its log: " + dir.resolve("daemon.log"));
                return 1;
            }

            Map<String, String> bearer = Map.of("Authorization", "Bearer " + TOKEN);
            McpCaller.Target direct = new McpCaller.Target("direct", URI.create("http://127.0.0.1:" + upstreamPort + "/mcp"), Map.of());
            McpCaller.Target tunnelHttp = new McpCaller.Target("airlock (HTTP server)", URI.create(endpoint.url(agent, "bench-http")), bearer);
            McpCaller.Target gatewayStdio = new McpCaller.Target("supergateway (stdio server)", URI.create("http://127.0.0.1:" + gatewayPort + "/mcp"), Map.of());
            McpCaller.Target tunnelStdio = new McpCaller.Target("airlock (stdio server)", URI.create(endpoint.url(agent, "bench-stdio")), bearer);
            List<McpCaller.Session> open = new ArrayList<>();
            for (McpCaller.Target t : List.of(direct, tunnelHttp, gatewayStdio, tunnelStdio)) {
                open.add(caller.open(t));
            }

            long[][] rtt = roundTrips(open);
            // Whose CPU a large response costs: this JVM (control plane, endpoint and client), the daemon, the node servers.
            List<List<ProcessHandle>> processes = List.of(List.of(ProcessHandle.current()), List.of(daemon.process.toHandle()),
                    List.of(upstream.toHandle(), supergateway.toHandle()));
            long[][][] cpu = new long[open.size()][processes.size()][1];
            double[][] mibs = throughput(open, processes, cpu);
            System.out.printf("MCP tools/call through the tunnel vs direct vs supergateway 4.0.0; the server is the TypeScript SDK's (mcp-peers/bench-server.mjs);%n"
                    + "one session per target, calls interleaved target by target; %d cores, daemon -Xmx%s, audit durability %s;%n"
                    + "the link's TLS by %s and its transport %s on both ends (the daemon runs on this class path)%n%n",
                    Runtime.getRuntime().availableProcessors(), daemonHeap, auditDurability,
                    io.netty.handler.ssl.OpenSsl.isAvailable() ? "BoringSSL (netty-tcnative)" : "the JDK",
                    io.netty.channel.epoll.Epoll.isAvailable() ? "native epoll" : "NIO");
            System.out.printf("| target | echo round trip p50 ms | p90 ms | vs direct p50 | %d KiB response, median MiB/s | vs direct |%n", payloadKib);
            System.out.println("|---|---|---|---|---|---|");
            double directP50 = Timing.quantileMs(rtt[0], 0.5);
            double directMibs = median(mibs[0]);
            for (int i = 0; i < open.size(); i++) {
                double p50 = Timing.quantileMs(rtt[i], 0.5);
                System.out.printf("| %s | %.2f | %.2f | %+.2f ms | %.0f | %.2fx |%n", open.get(i).target().name(), p50, Timing.quantileMs(rtt[i], 0.9),
                        p50 - directP50, median(mibs[i]), median(mibs[i]) / directMibs);
            }
            System.out.printf("%nCPU per %d KiB response, ms (mean; this JVM runs the control plane, its endpoint and the client; node: the servers and supergateway):%n%n",
                    payloadKib);
            System.out.println("| target | this JVM | daemon | node | total | total / cores | median wall ms |");
            System.out.println("|---|---|---|---|---|---|---|");
            int cores = Runtime.getRuntime().availableProcessors();
            for (int i = 0; i < open.size(); i++) {
                double[] ms = new double[processes.size()];
                double total = 0;
                for (int g = 0; g < processes.size(); g++) {
                    ms[g] = cpu[i][g][0] / 1e6 / downloads;
                    total += ms[g];
                }
                System.out.printf("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |%n", open.get(i).target().name(), ms[0], ms[1], ms[2], total,
                        total / cores, payloadKib / 1024.0 / median(mibs[i]) * 1000);
            }
            for (McpCaller.Session s : open) {
                caller.close(s);
            }
            System.out.println();
            manySessions(tunnelHttp, daemon);
            return 0;
        } finally {
            BenchProcesses.stop(daemon == null ? null : daemon.process);
            if (endpoint != null) {
                endpoint.close();
            }
            if (cp != null) {
                cp.close();
            }
            BenchProcesses.stop(supergateway);
            BenchProcesses.stop(upstream);
            System.err.println("(logs of this run: " + dir + ")");
        }
    }

    /** Echo round trips, interleaved target by target; nanoseconds per target. */
    private long[][] roundTrips(List<McpCaller.Session> open) throws Exception {
        long[][] rtt = new long[open.size()][calls];
        for (int i = -warmup; i < calls; i++) {
            for (int t = 0; t < open.size(); t++) {
                McpCaller.Session s = open.get(t);
                long ns = Timing.time(() -> caller.call(s, "echo", "{\"message\":\"hello\"}"));
                if (i >= 0) {
                    rtt[t][i] = ns;
                }
            }
        }
        return rtt;
    }

    /**
     * Large responses, interleaved target by target; MiB/s per target. Adds to {@code cpu[target][group]}
     * the CPU time each group of {@code processes} (with their descendants) spent on the measured ones.
     */
    private double[][] throughput(List<McpCaller.Session> open, List<List<ProcessHandle>> processes, long[][][] cpu) throws Exception {
        String args = "{\"bytes\":" + (payloadKib << 10) + "}";
        double[][] mibs = new double[open.size()][downloads];
        for (int i = -downloadWarmup; i < downloads; i++) {
            for (int t = 0; t < open.size(); t++) {
                McpCaller.Session s = open.get(t);
                long[] size = {0};
                long[] before = cpuNanos(processes);
                long ns = Timing.time(() -> size[0] = caller.call(s, "payload", args));
                long[] after = cpuNanos(processes);
                if (i >= 0) {
                    mibs[t][i] = size[0] / (1024.0 * 1024.0) / (ns / 1e9);
                    for (int g = 0; g < processes.size(); g++) {
                        cpu[t][g][0] += after[g] - before[g];
                    }
                }
            }
        }
        return mibs;
    }

    /** CPU time so far of each group of processes with their descendants (from /proc, 10 ms ticks). */
    private static long[] cpuNanos(List<List<ProcessHandle>> groups) {
        long[] out = new long[groups.size()];
        for (int g = 0; g < groups.size(); g++) {
            for (ProcessHandle root : groups.get(g)) {
                // This JVM's own children are not the group's (the daemon and node servers are counted apart).
                out[g] += root.pid() == ProcessHandle.current().pid() ? BenchProcesses.cpuNanos(root) : BenchProcesses.treeCpuNanos(root);
            }
        }
        return out;
    }

    /** {@link #sessions} sessions opened through the tunnel, then one call in each at once, then the daemon's memory with all of them open. */
    private void manySessions(McpCaller.Target target, BenchProcesses.Daemon daemon) throws Exception {
        List<McpCaller.Session> all = new ArrayList<>();
        AtomicInteger failures = new AtomicInteger();
        String firstFailure;
        long openNs;
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Semaphore opening = new Semaphore(64);
            List<Future<McpCaller.Session>> opened = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < sessions; i++) {
                opened.add(threads.submit(() -> {
                    opening.acquire();
                    try {
                        return caller.open(target);
                    } finally {
                        opening.release();
                    }
                }));
            }
            List<String> errors = new ArrayList<>();
            for (Future<McpCaller.Session> f : opened) {
                try {
                    all.add(f.get());
                } catch (ExecutionException e) {
                    failures.incrementAndGet();
                    errors.add(String.valueOf(e.getCause()));
                }
            }
            openNs = System.nanoTime() - start;
            firstFailure = errors.isEmpty() ? null : errors.get(0);
        }
        long[] rtt = new long[all.size()];
        AtomicInteger callFailures = new AtomicInteger();
        long burstNs;
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < all.size(); i++) {
                int n = i;
                done.add(threads.submit(() -> {
                    go.await();
                    try {
                        rtt[n] = Timing.time(() -> caller.call(all.get(n), "echo", "{\"message\":\"hello\"}"));
                    } catch (Exception e) {
                        callFailures.incrementAndGet();
                    }
                    return null;
                }));
            }
            long start = System.nanoTime();
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
            burstNs = System.nanoTime() - start;
        }
        double open = daemon.metric("airlock_mcp_sessions", "server=\"bench-http\"").orElse(-1.0);
        boolean collected = daemon.gc();
        double heap = daemon.metric("jvm_memory_used_bytes", "area=\"heap\"").orElse(-1.0);
        double max = daemon.metric("jvm_memory_max_bytes", "area=\"heap\"").orElse(-1.0);
        long rss = daemon.rss();
        System.out.printf("%d MCP sessions through the tunnel (HTTP server): %d opened in %.1f s (64 at a time), %d failed%s%n", sessions, all.size(),
                openNs / 1e9, failures.get(), firstFailure == null ? "" : " (first: " + firstFailure + ")");
        System.out.printf("then one tools/call in each, all at once: %d failed, all done in %.2f s, p50 %.1f ms, p90 %.1f ms%n", callFailures.get(),
                burstNs / 1e9, Timing.quantileMs(rtt, 0.5), Timing.quantileMs(rtt, 0.9));
        System.out.printf("with them open: the daemon counts %.0f sessions (airlock_mcp_sessions); its heap %s %.1f MiB of -Xmx%s (%.0f MiB); RSS %.0f MiB%n",
                open, collected ? "after a full GC" : "(no jcmd here to force a GC)", heap / (1 << 20), daemonHeap, max / (1 << 20), rss / (double) (1 << 20));
        try (var threads = Executors.newVirtualThreadPerTaskExecutor()) {
            Semaphore closing = new Semaphore(64);
            for (McpCaller.Session s : all) {
                threads.submit(() -> {
                    closing.acquire();
                    try {
                        caller.close(s);
                    } finally {
                        closing.release();
                    }
                    return null;
                });
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** mcp-peers of the checkout whose ./airlock started this (it passes itself as airlock.launcher), else of the working directory. */
    private static Path checkoutPeers() {
        String launcher = System.getProperty("airlock.launcher");
        if (launcher != null) {
            Path candidate = Path.of(launcher).toAbsolutePath().getParent().resolve("mcp-peers");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return Path.of("mcp-peers");
    }
}
