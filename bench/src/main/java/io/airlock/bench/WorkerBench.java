package io.airlock.bench;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.controlplane.workqueue.WorkQueueScript;
import io.airlock.controlplane.workqueue.WorkQueueServer;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench worker}: Airlock serving a work queue (each session in a bubblewrap
 * sandbox, every call audited) against the platform SDK's own worker helper running the same
 * tools with a local shell and no sandbox, both polling one reference queue in the same run:
 * poll-to-first-tool-result, the tool round trip, then many sessions at once on one daemon.
 */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = {"Work-queue worker: Airlock (bubblewrap sandboxes) vs the Anthropic SDK's worker helper (local shell), interleaved:",
            "poll-to-first-tool-result, tool round trip, then N concurrent sessions with the daemon's heap and RSS.",
            "Needs node and the npm packages of mcp-peers/ (npm install --no-package-lock)."})
public final class WorkerBench implements Callable<Integer> {
    @Option(names = "--starts", description = "Sessions started per worker (poll-to-first-result). Default: ${DEFAULT-VALUE}")
    int starts = 10;

    @Option(names = "--round-trips", description = "Measured tool round trips per worker and tool. Default: ${DEFAULT-VALUE}")
    int roundTrips = 200;

    @Option(names = "--warmup", description = "Unmeasured round trips per worker first. Default: ${DEFAULT-VALUE}")
    int warmup = 50;

    @Option(names = "--sessions", description = "Sessions at once in the last part. Default: ${DEFAULT-VALUE}")
    int sessions = 50;

    @Option(names = "--daemon-heap", description = "The daemon JVM's -Xmx. Default: ${DEFAULT-VALUE}")
    String daemonHeap = "256m";

    @Option(names = "--mcp-peers", description = "The mcp-peers directory (node_modules installed). Default: mcp-peers of this checkout")
    Path peers;

    private static final Duration T = Duration.ofSeconds(120);
    private final HttpClient http = HttpClient.newHttpClient();

    /** One worker under test: the environment it polls and the processes whose CPU it spends. */
    private record Worker(String name, String env, ProcessHandle process) {}

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        Path peerDir = (peers != null ? peers : Path.of("mcp-peers")).toAbsolutePath();
        Path script = peerDir.resolve("workqueue-worker.mjs");
        String node = BenchProcesses.onPath("node").map(Path::toString).orElse(null);
        if (node == null || !Files.exists(peerDir.resolve("node_modules/@anthropic-ai/sdk/package.json"))) {
            System.err.println("error: the worker benchmark needs node and the npm packages of " + peerDir
                    + " (apt-get install nodejs npm; cd mcp-peers && npm install --no-package-lock)");
            return 2;
        }
        Path dir = Files.createTempDirectory("airlock-bench-worker-");
        String apiKey = "apikey_bench";
        try (WorkQueueServer queue = WorkQueueServer.start(new InetSocketAddress("127.0.0.1", 0), apiKey, Clock.systemUTC())) {
            WorkQueueScript platform = new WorkQueueScript(queue.url(), apiKey);
            Path key = dir.resolve("airlock.key");
            Files.writeString(key, platform.createEnvironment("env_airlock"));
            Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
            String sdkKey = platform.createEnvironment("env_sdk");
            Path config = dir.resolve("airlock.yaml");
            Files.writeString(config, """
                    state_dir: %s
                    admin: {listen: "127.0.0.1:0"}
                    drivers: {default: bubblewrap, enabled: [bubblewrap]}
                    log: {level: warn}
                    policy: {max_sandboxes: %d}
                    environments:
                      - {api_url: "%s", environment_id: env_airlock, key_file: "%s", concurrency: %d, idle_stop: 1s}
                    """.formatted(dir.resolve("agent"), sessions + 10, queue.url(), key, sessions + 10));
            Path workdir = Files.createDirectories(dir.resolve("sdk-workdir"));
            ProcessBuilder pb = new ProcessBuilder(node, script.toString()).directory(peerDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("sdk-worker.log").toFile());
            pb.environment().putAll(java.util.Map.of("BASE_URL", queue.url(), "ENV_ID", "env_sdk", "ENV_KEY", sdkKey,
                    "WORKDIR", workdir.toString(), "ITEMS", "0", "MAX_IDLE_MS", "1000"));
            try (BenchProcesses.Daemon daemon = new BenchProcesses.Daemon(config, dir.resolve("agent"), daemonHeap, List.of(), dir.resolve("daemon.log"))) {
                Process sdk = BenchProcesses.endedWithUs(pb.start());
                try {
                    List<Worker> workers = List.of(new Worker("airlock (bubblewrap sandbox, audited)", "env_airlock", daemon.process.toHandle()),
                            new Worker("SDK worker helper (local shell)", "env_sdk", sdk.toHandle()));
                    firstResults(platform, queue.url(), apiKey, workers);
                    roundTrips(platform, queue.url(), apiKey, workers);
                    concurrent(platform, queue.url(), apiKey, workers.get(0), daemon);
                } finally {
                    BenchProcesses.stop(sdk);
                }
            }
        }
        return 0;
    }

    private static ObjectNode bash(String command) {
        return WorkQueueScript.object().put("command", command);
    }

    /** From enqueueing a session whose first event is a tool call to its result: claim, sandbox, ack, lease, stream, run, post. */
    private void firstResults(WorkQueueScript platform, String base, String apiKey, List<Worker> workers) throws Exception {
        long[][] ns = new long[workers.size()][starts];
        long[] cpu = new long[workers.size()];
        for (int i = -2; i < starts; i++) { // two unmeasured starts each first: JIT, first sandbox
            for (int w = 0; w < workers.size(); w++) {
                Worker worker = workers.get(w);
                String session = "sesn_start_" + w + "_" + (i + 2);
                platform.send(session, List.of(WorkQueueScript.toolUse("first", "bash", bash("echo ready"))));
                try (SessionWatch watch = new SessionWatch(http, base, apiKey, session)) {
                    long c0 = BenchProcesses.treeCpuNanos(worker.process());
                    long t0 = System.nanoTime();
                    platform.enqueue(worker.env(), session);
                    long took = watch.arrival("first", T) - t0;
                    if (i >= 0) {
                        ns[w][i] = took;
                        cpu[w] += BenchProcesses.treeCpuNanos(worker.process()) - c0;
                    }
                }
                platform.send(session, List.of(WorkQueueScript.idle()));
                Thread.sleep(1500); // the session is handed back before the next one starts
            }
        }
        System.out.printf("%npoll-to-first-tool-result (%d sessions each; enqueue -> the result on the session's stream):%n", starts);
        report(workers, ns, cpu, starts);
    }

    /** One session per worker, then tool calls one after another, interleaved worker by worker. */
    private void roundTrips(WorkQueueScript platform, String base, String apiKey, List<Worker> workers) throws Exception {
        List<SessionWatch> watches = new ArrayList<>();
        List<String> sessionIds = new ArrayList<>();
        try {
            for (int w = 0; w < workers.size(); w++) {
                String session = "sesn_rtt_" + w;
                sessionIds.add(session);
                platform.send(session, List.of(WorkQueueScript.toolUse("setup", "write",
                        WorkQueueScript.object().put("file_path", "data.txt").put("content", "line one\nline two\n"))));
                watches.add(new SessionWatch(http, base, apiKey, session));
                platform.enqueue(workers.get(w).env(), session);
                watches.get(w).arrival("setup", T);
            }
            for (String tool : List.of("bash", "read")) {
                long[][] ns = new long[workers.size()][roundTrips];
                long[] cpu = new long[workers.size()];
                for (int i = -warmup; i < roundTrips; i++) {
                    for (int w = 0; w < workers.size(); w++) {
                        String id = tool + "_" + (i + warmup);
                        ObjectNode input = tool.equals("bash") ? bash("echo " + i) : WorkQueueScript.object().put("file_path", "data.txt");
                        long c0 = BenchProcesses.treeCpuNanos(workers.get(w).process());
                        long t0 = System.nanoTime();
                        platform.send(sessionIds.get(w), List.of(WorkQueueScript.toolUse(id, tool, input)));
                        long took = watches.get(w).arrival(id, T) - t0;
                        if (i >= 0) {
                            ns[w][i] = took;
                            cpu[w] += BenchProcesses.treeCpuNanos(workers.get(w).process()) - c0;
                        }
                    }
                }
                System.out.printf("%ntool round trip, %s (%d calls each after %d warm-up; the agent's event posted -> the result on the stream):%n",
                        tool.equals("bash") ? "bash 'echo N' in the session's shell" : "read of a small file", roundTrips, warmup);
                report(workers, ns, cpu, roundTrips);
            }
            for (String s : sessionIds) {
                platform.send(s, List.of(WorkQueueScript.idle()));
            }
        } finally {
            for (SessionWatch w : watches) {
                w.close();
            }
        }
    }

    private static void report(List<Worker> workers, long[][] ns, long[] cpu, int n) {
        System.out.println("| worker | p50 ms | p90 ms | mean ms | CPU ms per op (worker and its children) | p50 ratio vs SDK |");
        System.out.println("|---|---|---|---|---|---|");
        double ref = Timing.quantileMs(ns[workers.size() - 1], 0.5);
        for (int w = 0; w < workers.size(); w++) {
            System.out.printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f |%n", workers.get(w).name(), Timing.quantileMs(ns[w], 0.5),
                    Timing.quantileMs(ns[w], 0.9), Timing.meanMs(ns[w]), cpu[w] / 1e6 / n, Timing.quantileMs(ns[w], 0.5) / ref);
        }
    }

    /** {@link #sessions} sessions queued at once on the daemon, each running a shell, then its memory while all are open. */
    private void concurrent(WorkQueueScript platform, String base, String apiKey, Worker airlock, BenchProcesses.Daemon daemon) throws Exception {
        long rssBefore = daemon.rss();
        List<SessionWatch> watches = new ArrayList<>();
        try {
            long t0 = System.nanoTime();
            for (int i = 0; i < sessions; i++) {
                String session = "sesn_many_" + i;
                platform.send(session, List.of(WorkQueueScript.toolUse("t", "bash", bash("echo session " + i))));
                watches.add(new SessionWatch(http, base, apiKey, session));
                platform.enqueue(airlock.env(), session);
            }
            long last = 0;
            for (SessionWatch w : watches) {
                last = Math.max(last, w.arrival("t", T));
            }
            double allMs = (last - t0) / 1e6;
            boolean collected = daemon.gc();
            double heap = daemon.metric("jvm_memory_used_bytes", "area=\"heap\"").orElse(-1.0);
            double active = daemon.metric("airlock_worker_sessions", "environment=\"env_airlock\"").orElse(-1.0);
            long rss = daemon.rss();
            System.out.printf("%n%d sessions queued at once on one daemon: all first results in %.0f ms; with them open (%s active, each a "
                    + "bubblewrap sandbox with its shell): heap %s %.1f MiB of -Xmx%s, daemon RSS %.0f MiB (%.0f MiB before)%n", sessions,
                    allMs, active < 0 ? "?" : String.format("%.0f", active), collected ? "after a full GC" : "(no jcmd to force a GC)",
                    heap / (1 << 20), daemonHeap, rss / (double) (1 << 20), rssBefore / (double) (1 << 20));
            for (int i = 0; i < sessions; i++) {
                platform.send("sesn_many_" + i, List.of(WorkQueueScript.idle()));
            }
        } finally {
            for (SessionWatch w : watches) {
                w.close();
            }
        }
    }
}
