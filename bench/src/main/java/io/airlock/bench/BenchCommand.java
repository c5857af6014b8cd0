package io.airlock.bench;

import ch.qos.logback.classic.Level;
import io.airlock.core.work.HandOffProbe;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.bubblewrap.BwrapCommand;
import io.airlock.embedded.EmbeddedStack;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench exec-roundtrip}: the time from "control plane sends StartExec" to "control
 * plane has the exit code", against the same command run through bwrap directly, interleaved
 * iteration by iteration so both see the same machine noise.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks; results are ratios against a reference measured in the same run.",
        subcommands = {BenchCommand.ExecRoundTrip.class, DockerBench.class, EgressBench.class, McpBench.class, CliBench.class,
            WorkerBench.class})
public final class BenchCommand {
    @Command(name = "exec-roundtrip", mixinStandardHelpOptions = true,
            description = "Exec round trip control plane -> daemon -> bubblewrap vs the same command via bwrap directly.")
    public static final class ExecRoundTrip implements Callable<Integer> {
        @Option(names = "--iterations", description = "Measured iterations per variant. Default: ${DEFAULT-VALUE}")
        int iterations = 200;

        @Option(names = "--warmup", description = "Unmeasured iterations first. Default: ${DEFAULT-VALUE}")
        int warmup = 30;

        @Option(names = "--probe", description = "Also print where the round trip goes: the time between the hand-offs of each exec "
                + "on its way through the daemon (timestamps taken in this one JVM)")
        boolean probe;

        @Override
        public Integer call() throws Exception {
            ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
            if (probe) {
                System.setProperty("airlock.probe", "true"); // read once, when the probe class loads: before the stack starts
                if (!HandOffProbe.ENABLED) {
                    throw new IllegalStateException("the hand-off probe was loaded before --probe could turn it on");
                }
            }
            Map<String, List<Long>> steps = new LinkedHashMap<>();
            Path dir = Files.createTempDirectory("airlock-bench-");
            List<String> argv = List.of("true");
            try (EmbeddedStack stack = EmbeddedStack.start(dir, "bubblewrap")) {
                String agent = stack.identity.agentId();
                Duration t = Duration.ofSeconds(30);
                stack.cp.agents().provision(agent, ProvisionSandbox.newBuilder().setSandboxId("bench").build(), t);
                SandboxDriver driver = stack.daemon.sandboxes().locate("bench").driver();
                Path bwrap = findBwrap();
                Path ws = Files.createDirectories(dir.resolve("reference/workspace"));
                Path tmp = Files.createDirectories(dir.resolve("reference/tmp"));
                List<String> direct = BwrapCommand.build(bwrap, ws, tmp, "", argv);

                var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
                long airlockCpuNanos = 0;
                long[] viaAirlock = new long[iterations];
                long[] viaDriver = new long[iterations];
                long[] viaBwrap = new long[iterations];
                HandOffProbe.takeAll(); // the provision's
                for (int i = -warmup; i < iterations; i++) {
                    long started = System.nanoTime();
                    long cpuBefore = os.getProcessCpuTime();
                    long a = Timing.time(() -> {
                        ExecResult r = stack.cp.agents().exec(agent, StartExec.newBuilder().setSandboxId("bench").addAllArgv(argv).build(), null, c -> { }, t);
                        check(r.getExitCode());
                    });
                    long ended = System.nanoTime();
                    if (i >= 0) {
                        airlockCpuNanos += os.getProcessCpuTime() - cpuBefore;
                    }
                    var marked = HandOffProbe.takeAll();
                    if (probe && i >= 0) {
                        for (List<HandOffProbe.Mark> marks : marked.values()) {
                            HandOffProbe.steps(marks, started).forEach((point, ns) -> steps.computeIfAbsent(point, k -> new ArrayList<>()).add(ns));
                            steps.computeIfAbsent("control plane has the result and the stream's end", k -> new ArrayList<>())
                                    .add(ended - marks.get(marks.size() - 1).nanos());
                        }
                    }
                    long d = Timing.time(() -> check(Execution.start(driver, "bench", ExecSpec.of("true"), c -> { }).await(t).exitCode()));
                    long b = Timing.time(() -> {
                        Process p = new ProcessBuilder(direct).redirectErrorStream(true).start();
                        p.getInputStream().readAllBytes();
                        check(p.waitFor());
                    });
                    if (i >= 0) {
                        viaAirlock[i] = a;
                        viaDriver[i] = d;
                        viaBwrap[i] = b;
                    }
                }
                System.out.printf("exec round trip of `true`, %d iterations each (after %d warm-up), interleaved; %d cores%n",
                        iterations, warmup, Runtime.getRuntime().availableProcessors());
                System.out.println("| path | p50 ms | p90 ms | mean ms | p50 ratio vs bwrap |");
                System.out.println("|---|---|---|---|---|");
                row("bwrap directly (reference)", viaBwrap, viaBwrap);
                row("driver only (Execution + cgroup/ulimit wrapper + bwrap)", viaDriver, viaBwrap);
                row("control plane -> mTLS -> daemon -> bwrap -> back", viaAirlock, viaBwrap);
                System.out.printf("CPU of this JVM (control plane and daemon, not the sandbox's processes) per exec: %.2f ms%n",
                        airlockCpuNanos / 1e6 / iterations);
                if (probe) {
                    System.out.println();
                    System.out.println("where the round trip goes: time from the previous hand-off (the first from the control plane's call)");
                    System.out.println("| hand-off reached | p50 ms | mean ms |");
                    System.out.println("|---|---|---|");
                    steps.forEach((point, ns) -> System.out.printf("| %s | %.3f | %.3f |%n", point,
                            Timing.quantileMs(ns.stream().mapToLong(Long::longValue).toArray(), 0.5),
                            Timing.meanMs(ns.stream().mapToLong(Long::longValue).toArray())));
                }
            } finally {
                try (var paths = Files.walk(dir)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            return 0;
        }

        private static Path findBwrap() {
            return BenchProcesses.onPath("bwrap").orElseThrow(() -> new IllegalStateException("bwrap not found on PATH; install bubblewrap"));
        }

        private static void check(int exit) {
            if (exit != 0) {
                throw new IllegalStateException("benchmark command exited " + exit);
            }
        }

        private static void row(String name, long[] samples, long[] reference) {
            double p50 = Timing.quantileMs(samples, 0.5);
            System.out.printf("| %s | %.2f | %.2f | %.2f | %.2f |%n", name, p50, Timing.quantileMs(samples, 0.9), Timing.meanMs(samples),
                    p50 / Timing.quantileMs(reference, 0.5));
        }
    }
}
