package io.airlock.bench;

import ch.qos.logback.classic.Level;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.driver.docker.DockerDriver;
import io.airlock.embedded.EmbeddedStack;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench docker}: the Docker driver through the whole stack (control plane → mTLS →
 * daemon → engine) against docker-java calls made directly, interleaved in one run.
 */
@Command(name = "docker", mixinStandardHelpOptions = true,
        description = "Docker driver: provision and exec against direct docker-java calls; many sandboxes at once with heap and RSS.")
public final class DockerBench implements Callable<Integer> {
    private static final Path SOCKET = Path.of("/var/run/docker.sock");

    @Option(names = "--provisions", description = "Provision/destroy pairs per variant. Default: ${DEFAULT-VALUE}")
    int provisions = 30;

    @Option(names = "--execs", description = "Exec round trips per variant. Default: ${DEFAULT-VALUE}")
    int execs = 200;

    @Option(names = "--concurrent", description = "Sandboxes provisioned at once for the memory row. Default: ${DEFAULT-VALUE}")
    int concurrent = 100;

    @Option(names = "--claims", description = "Warm-pool claims measured. Default: ${DEFAULT-VALUE}")
    int claims = 30;

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        String image = BusyboxImage.ensure(SOCKET);
        Path dir = Files.createTempDirectory("airlock-bench-docker-");
        Duration t = Duration.ofSeconds(120);
        try {
            try (EmbeddedStack stack = EmbeddedStack.start(dir, "docker", "{image: \"" + image + "\"}",
                            "{max_sandboxes: " + (concurrent + 10) + "}");
                    DockerClient docker = client()) {
                String agent = stack.identity.agentId();
                System.out.printf("Docker driver vs direct docker-java, interleaved; engine %s; %d cores%n",
                        docker.versionCmd().exec().getVersion(), Runtime.getRuntime().availableProcessors());
                System.out.println("| measurement | Airlock p50 ms | direct p50 ms | ratio (p50) | Airlock mean ms | direct mean ms |");
                System.out.println("|---|---|---|---|---|---|");

                long[] viaAirlock = new long[provisions];
                long[] direct = new long[provisions];
                for (int i = -3; i < provisions; i++) {
                    String id = "bench-p" + (i + 3);
                    long a = Timing.time(() -> stack.cp.agents().provision(agent, ProvisionSandbox.newBuilder().setSandboxId(id).build(), t));
                    String[] created = new String[1];
                    long d = Timing.time(() -> {
                        created[0] = docker.createContainerCmd(image).withCmd("sleep", "infinity").withUser("1000:1000")
                                .withHostConfig(HostConfig.newHostConfig().withNetworkMode("none").withInit(true)).exec().getId();
                        docker.startContainerCmd(created[0]).exec();
                    });
                    docker.removeContainerCmd(created[0]).withForce(true).exec();
                    stack.cp.agents().destroy(agent, id, t);
                    if (i >= 0) {
                        viaAirlock[i] = a;
                        direct[i] = d;
                    }
                }
                row("provision to ready (Airlock: control plane → daemon → volume + hardened create + start; direct: docker-java create + start)", viaAirlock, direct);

                stack.cp.agents().provision(agent, ProvisionSandbox.newBuilder().setSandboxId("bench-exec").build(), t);
                String container = "airlock-" + agent + "-bench-exec";
                long[] execAirlock = new long[execs];
                long[] execDirect = new long[execs];
                for (int i = -20; i < execs; i++) {
                    long a = Timing.time(() -> stack.cp.agents().exec(agent, StartExec.newBuilder().setSandboxId("bench-exec").addArgv("true").build(),
                            null, c -> { }, t));
                    long d = Timing.time(() -> {
                        String exec = docker.execCreateCmd(container).withCmd("true").withAttachStdout(true).withAttachStderr(true).exec().getId();
                        docker.execStartCmd(exec).exec(new ResultCallback.Adapter<Frame>()).awaitCompletion();
                        docker.inspectExecCmd(exec).exec().getExitCodeLong();
                    });
                    if (i >= 0) {
                        execAirlock[i] = a;
                        execDirect[i] = d;
                    }
                }
                row("exec round trip of `true` (Airlock: control plane → daemon → engine → back)", execAirlock, execDirect);
                stack.cp.agents().destroy(agent, "bench-exec", t);

                long started = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(16);
                List<Future<?>> all = new ArrayList<>();
                try {
                    for (int i = 0; i < concurrent; i++) {
                        String id = "bench-c" + i;
                        all.add(pool.submit(() -> stack.cp.agents().provision(agent, ProvisionSandbox.newBuilder().setSandboxId(id).build(), t)));
                    }
                    for (Future<?> f : all) {
                        f.get();
                    }
                    double seconds = (System.nanoTime() - started) / 1e9;
                    System.gc();
                    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                    System.out.printf("%n%d sandboxes provisioned 16 at a time in %.1f s; process (control plane + daemon) heap after GC %.1f MiB, RSS %s%n",
                            concurrent, seconds, heap / 1048576.0, rss());
                } finally {
                    // Destroy whatever exists, also after a failure: nothing of the benchmark is left on the engine.
                    for (Future<?> f : all) {
                        f.cancel(false);
                    }
                    List<Future<?>> destroys = new ArrayList<>();
                    for (var s : stack.daemon.sandboxes().list()) {
                        destroys.add(pool.submit(() -> {
                            stack.cp.agents().destroy(agent, s.id(), t);
                            return null;
                        }));
                    }
                    for (Future<?> f : destroys) {
                        f.get();
                    }
                    pool.shutdown();
                }
            }
            warmPool(image, dir.resolve("warm"), t);
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }

    /** Claim to first command: provision from a warm pool, then the first exec's exit code, end to end. */
    private void warmPool(String image, Path dir, Duration t) throws Exception {
        try (EmbeddedStack stack = EmbeddedStack.start(dir, "docker", "{image: \"" + image + "\", warm_pool: 2}")) {
            String agent = stack.identity.agentId();
            var driver = (DockerDriver) stack.daemon.sandboxes().drivers().get("docker");
            // At rest: the pool is full again and the engine has had a second to finish the previous
            // destroy and refill (on 2 cores its clean-up competes with the next claim for tens of ms);
            // the reference, timed the same way in between, is a direct docker-java exec of `true` in a
            // running container: what a first command costs without a warm pool's launcher.
            // Back to back: the next claim as soon as one warm container is idle (a refill may be running).
            try (DockerClient docker = client()) {
                String reference = docker.createContainerCmd(image).withCmd("sleep", "infinity").withUser("1000:1000")
                        .withHostConfig(HostConfig.newHostConfig().withNetworkMode("none").withInit(true)).exec().getId();
                docker.startContainerCmd(reference).exec();
                try {
                    for (int wanted : new int[] {2, 1}) {
                        long[] samples = new long[claims];
                        long[] direct = new long[claims];
                        for (int i = -3; i < claims; i++) {
                            awaitWarm(driver, wanted);
                            long d = 0;
                            if (wanted == 2) {
                                Thread.sleep(1000);
                                d = Timing.time(() -> {
                                    String exec = docker.execCreateCmd(reference).withCmd("true").withAttachStdout(true).withAttachStderr(true)
                                            .exec().getId();
                                    docker.execStartCmd(exec).exec(new ResultCallback.Adapter<Frame>()).awaitCompletion();
                                    docker.inspectExecCmd(exec).exec().getExitCodeLong();
                                });
                                Thread.sleep(1000);
                            }
                            String id = "bench-w" + wanted + "-" + (i + 3);
                            long took = Timing.time(() -> {
                                stack.cp.agents().provision(agent, ProvisionSandbox.newBuilder().setSandboxId(id).build(), t);
                                stack.cp.agents().exec(agent, StartExec.newBuilder().setSandboxId(id).addArgv("true").build(), null, c -> { }, t);
                            });
                            stack.cp.agents().destroy(agent, id, t);
                            if (i >= 0) {
                                samples[i] = took;
                                direct[i] = d;
                            }
                        }
                        if (wanted == 2) {
                            System.out.printf("warm-pool claim to first command, pool at rest (provision from the pool + exec `true`, end to end): "
                                    + "p50 %.1f ms, p90 %.1f ms over %d claims; direct docker-java exec of `true` at rest: p50 %.1f ms (ratio %.2f)%n",
                                    Timing.quantileMs(samples, 0.5), Timing.quantileMs(samples, 0.9), claims, Timing.quantileMs(direct, 0.5),
                                    Timing.quantileMs(samples, 0.5) / Timing.quantileMs(direct, 0.5));
                        } else {
                            System.out.printf("warm-pool claim to first command, back to back: p50 %.1f ms, p90 %.1f ms over %d claims%n",
                                    Timing.quantileMs(samples, 0.5), Timing.quantileMs(samples, 0.9), claims);
                        }
                    }
                } finally {
                    docker.removeContainerCmd(reference).withForce(true).exec();
                }
            }
            // Leave no warm containers behind: they belong to this benchmark's throw-away agent.
            stack.daemon.stop();
            try (DockerClient docker = client()) {
                docker.listContainersCmd().withShowAll(true).withLabelFilter(Map.of("io.airlock.agent", agent)).exec()
                        .forEach(c -> docker.removeContainerCmd(c.getId()).withForce(true).exec());
                docker.listVolumesCmd().withFilter("label", List.of("io.airlock.agent=" + agent)).exec().getVolumes()
                        .forEach(v -> docker.removeVolumeCmd(v.getName()).exec());
            }
        }
    }

    private static void awaitWarm(DockerDriver driver, int wanted) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (driver.warmContainers() < wanted) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the warm pool did not refill within 60 s");
            }
            Thread.sleep(10);
        }
    }

    private static DockerClient client() {
        var config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost("unix://" + SOCKET).build();
        return DockerClientImpl.getInstance(config, new ZerodepDockerHttpClient.Builder().dockerHost(URI.create("unix://" + SOCKET)).build());
    }

    private static String rss() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return line.substring(6).trim();
            }
        }
        return "unknown";
    }

    private static void row(String name, long[] airlock, long[] direct) {
        double ap50 = Timing.quantileMs(airlock, 0.5);
        double dp50 = Timing.quantileMs(direct, 0.5);
        System.out.printf("| %s | %.1f | %.1f | %.2f | %.1f | %.1f |%n", name, ap50, dp50, ap50 / dp50, Timing.meanMs(airlock), Timing.meanMs(direct));
    }
}
