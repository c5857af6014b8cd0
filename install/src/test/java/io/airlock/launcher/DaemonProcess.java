package io.airlock.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** `airlock run` as a separate JVM on this test's class path, logging to a file. */
final class DaemonProcess implements AutoCloseable {
    private final Path log;
    final Process process;

    private DaemonProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    static DaemonProcess start(Path config, Path log) throws Exception {
        return start(config, log, java.util.Map.of());
    }

    /** With {@code env} added to the daemon's environment (e.g. NOTIFY_SOCKET). */
    static DaemonProcess start(Path config, Path log, java.util.Map<String, String> env) throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        // SIGHUP back to its default: a run started under nohup (a CI job, say) would hand the daemon an
        // ignored SIGHUP, which the JVM then leaves ignored, and the reload test would test nothing.
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("env", "--default-signal=HUP", javaBin));
        // The JVM options the ./airlock launcher passes on this JDK, so that the log holds only the daemon's lines.
        if (Runtime.version().feature() >= 23) {
            cmd.add("--sun-misc-unsafe-memory-access=allow");
        }
        if (Runtime.version().feature() >= 22) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        cmd.addAll(java.util.List.of("-cp", System.getProperty("java.class.path"), Airlock.class.getName(), "run", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return new DaemonProcess(pb.start(), log);
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (Exception e) {
            return "(no log)";
        }
    }

    /** SIGKILL: no drain, no clean-up, as a crash or the OOM killer would. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(20, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
