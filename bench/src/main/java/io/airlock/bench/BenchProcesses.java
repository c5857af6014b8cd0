package io.airlock.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The other processes a benchmark runs: servers it waits for, and the daemon as a JVM of its own whose memory it reads. */
final class BenchProcesses {
    /** The airlock command's main class (install module). */
    static final String LAUNCHER = "io.airlock.launcher.Airlock";

    private BenchProcesses() {}

    /** The executable {@code name} in a directory of PATH. */
    static Optional<Path> onPath(String name) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) {
                return Optional.of(Path.of(d, name));
            }
        }
        return Optional.empty();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code command} with its output in {@code log} and waits until it listens on loopback {@code port}. */
    static Process startListening(List<String> command, int port, Path log, String what) throws IOException, InterruptedException {
        Process p = endedWithUs(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start());
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return p;
            } catch (IOException e) {
                if (!p.isAlive()) {
                    throw new IOException(what + " exited with " + p.exitValue() + " before listening; its output is in " + log);
                }
                Thread.sleep(100);
            }
        }
        p.destroyForcibly();
        throw new IOException(what + " did not listen on " + port + " within 30 s; its output is in " + log);
    }

    /**
     * Ends {@code p} (and what it started) when this JVM ends, also by a signal: a benchmark
     * interrupted with Ctrl-C or SIGTERM skips its finally blocks, and left its daemon running.
     */
    static Process endedWithUs(Process p) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }, "bench-child-reaper"));
        return p;
    }

    static void stop(Process p) throws InterruptedException {
        if (p != null && p.isAlive()) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** CPU time so far of one process (from /proc, 10 ms ticks). */
    static long cpuNanos(ProcessHandle p) {
        return p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    /** CPU time so far of a process and its descendants. */
    static long treeCpuNanos(ProcessHandle root) {
        return cpuNanos(root) + root.descendants().mapToLong(BenchProcesses::cpuNanos).sum();
    }

    /** {@code airlock run} in a JVM of its own, with the launcher's JVM options and a maximum heap. */
    static final class Daemon implements AutoCloseable {
        final Process process;
        private final Path stateDir;
        private final HttpClient http = HttpClient.newHttpClient();

        Daemon(Path config, Path stateDir, String maxHeap, List<String> jvmOptions, Path log) throws IOException {
            this.stateDir = stateDir;
            List<String> cmd = new ArrayList<>(List.of(java().toString(), "-XX:+UseSerialGC", "-Xmx" + maxHeap));
            cmd.addAll(jvmOptions);
            if (Runtime.version().feature() >= 23) {
                cmd.add("--sun-misc-unsafe-memory-access=allow");
            }
            if (Runtime.version().feature() >= 22) {
                cmd.add("--enable-native-access=ALL-UNNAMED");
            }
            // By name: the launcher's class is on this class path (the bench runs from it) but in a module above this one.
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), LAUNCHER, "run", "--config", config.toString()));
            process = endedWithUs(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start());
        }

        private static Path java() {
            return Path.of(System.getProperty("java.home"), "bin", "java");
        }

        /** The daemon's Prometheus metrics, from its loopback admin endpoint. */
        String metrics() throws IOException, InterruptedException {
            String admin = Files.readString(stateDir.resolve("admin.address")).strip();
            return http.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        }

        /** The first sample of {@code name} whose labels contain {@code labels}, or empty. */
        Optional<Double> metric(String name, String labels) throws IOException, InterruptedException {
            for (String line : metrics().split("\n")) {
                if (line.startsWith(name + "{") && line.contains(labels) || line.startsWith(name + " ")) {
                    return Optional.of(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                }
            }
            return Optional.empty();
        }

        /** Asks for a full GC (jcmd, from the same JDK); false when this runtime has no jcmd. */
        boolean gc() throws IOException, InterruptedException {
            Path jcmd = java().resolveSibling("jcmd");
            if (!Files.isExecutable(jcmd)) {
                return false;
            }
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(process.pid()), "GC.run").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        }

        /** Resident set size in bytes, from /proc. */
        long rss() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
            return -1;
        }

        @Override
        public void close() throws InterruptedException {
            stop(process);
        }
    }
}
