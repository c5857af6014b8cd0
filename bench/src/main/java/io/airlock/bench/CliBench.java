package io.airlock.bench;

import ch.qos.logback.classic.Level;
import io.airlock.embedded.EmbeddedStack;
import io.airlock.proto.v1.ProvisionSandbox;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code airlock bench cli}: how long an operator waits for the short commands, each a new process
 * through the launcher as typed, against {@code java -version} of the same runtime, interleaved run
 * by run. The commands talk to a control plane and a daemon started here (one sandbox), and read
 * that daemon's audit log. Wall time and CPU time (user + system of the child, from this process's
 * reaped-children counters) per run.
 */
@Command(name = "cli", mixinStandardHelpOptions = true,
        description = "Start-up of --version, status, audit query and cp ls through the launcher vs `java -version` of the same runtime.")
public final class CliBench implements Callable<Integer> {
    @Option(names = "--runs", description = "Measured runs per command. Default: ${DEFAULT-VALUE}")
    int runs = 20;

    @Option(names = "--warmup", description = "Unmeasured runs of each first (page cache, class-data archive). Default: ${DEFAULT-VALUE}")
    int warmup = 3;

    @Option(names = "--launcher", description = "The airlock command to time. Default: the one that started this benchmark")
    Path launcher;

    @Override
    public Integer call() throws Exception {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
        Path command = launcher != null ? launcher : Path.of(System.getProperty("airlock.launcher", "airlock"));
        if (!Files.isExecutable(command)) {
            System.err.println("error: no launcher at " + command + " (pass --launcher PATH)");
            return 2;
        }
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        Path dir = Files.createTempDirectory("airlock-bench-cli-");
        try (EmbeddedStack stack = EmbeddedStack.start(dir, "bubblewrap")) {
            stack.cp.agents().provision(stack.identity.agentId(), ProvisionSandbox.newBuilder().setSandboxId("bench-cli").build(),
                    Duration.ofSeconds(30));
            String launcherPath = command.toString();
            Map<String, List<String>> commands = new LinkedHashMap<>();
            commands.put("java -version (reference)", List.of(javaBin, "-version"));
            commands.put("airlock --version", List.of(launcherPath, "--version"));
            commands.put("airlock status", List.of(launcherPath, "status", "--state-dir", dir.resolve("agent").toString()));
            commands.put("airlock audit query", List.of(launcherPath, "audit", "query", dir.resolve("agent/audit").toString()));
            commands.put("airlock cp ls", List.of(launcherPath, "cp", "ls", "--state-dir", dir.resolve("controlplane").toString()));

            Map<String, long[]> wall = new LinkedHashMap<>();
            Map<String, long[]> cpu = new LinkedHashMap<>();
            commands.keySet().forEach(k -> {
                wall.put(k, new long[runs]);
                cpu.put(k, new long[runs]);
            });
            for (int i = -warmup; i < runs; i++) {
                for (var c : commands.entrySet()) {
                    long cpuBefore = childrenCpuNanos();
                    long took = Timing.time(() -> run(c.getKey(), c.getValue()));
                    if (i >= 0) {
                        wall.get(c.getKey())[i] = took;
                        cpu.get(c.getKey())[i] = childrenCpuNanos() - cpuBefore;
                    }
                }
            }
            long[] reference = wall.get("java -version (reference)");
            System.out.printf("CLI start-up, %d runs each (after %d warm-up), interleaved; launcher %s; %s; %d cores%n",
                    runs, warmup, command, Runtime.version(), Runtime.getRuntime().availableProcessors());
            System.out.println("| command | p50 ms | p90 ms | CPU ms per run (user+sys) | p50 ratio vs java -version |");
            System.out.println("|---|---|---|---|---|");
            for (String k : commands.keySet()) {
                System.out.printf("| %s | %.0f | %.0f | %.0f | %.1fx |%n", k, Timing.quantileMs(wall.get(k), 0.5), Timing.quantileMs(wall.get(k), 0.9),
                        Timing.meanMs(cpu.get(k)), Timing.quantileMs(wall.get(k), 0.5) / Timing.quantileMs(reference, 0.5));
            }
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }

    /** Runs one command to its end (60 s at most); any exit but 0 is a failed benchmark, with its output. */
    private static void run(String name, List<String> argv) throws Exception {
        File out = File.createTempFile("airlock-bench-cli-", ".out");
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(name + " did not end within 60 s");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(name + " exited " + p.exitValue() + ": " + Files.readString(out.toPath()));
            }
        } finally {
            Files.deleteIfExists(out.toPath());
        }
    }

    /** CPU time of this process's reaped children so far (/proc/self/stat cutime + cstime), in nanoseconds. */
    private static long childrenCpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        // Fields after the command name, which is in parentheses and may hold spaces.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[13]) + Long.parseLong(f[14]); // fields 16 and 17 of proc(5)
        return ticks * TimeUnit.SECONDS.toNanos(1) / 100; // USER_HZ is 100 on Linux
    }
}
