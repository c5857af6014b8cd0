package io.airlock.launcher;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.admin.AdminServer;
import io.airlock.core.audit.AuditLog;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;

/**
 * The training run behind the class-data archive: the launcher runs it once per build (the package
 * build once per package) under {@code -XX:ArchiveClassesAtExit}, so the archive holds the classes
 * the short commands an operator types really load: against a control plane and an audit log made
 * here, and a daemon that is not running. Its output is discarded; nothing outside a temporary
 * directory is touched.
 */
public final class CdsTraining {
    private CdsTraining() {}

    public static void main(String[] args) throws Exception {
        Path dir = Files.createTempDirectory("airlock-cds-");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        System.setOut(quiet);
        System.setErr(quiet);
        try {
            train(dir);
        } finally {
            try (var paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        // Non-daemon threads of the control plane's executors must not keep the JVM from writing the archive.
        System.exit(0);
    }

    private static void train(Path dir) throws Exception {
        Path audit = dir.resolve("audit");
        try (AuditLog log = AuditLog.open(audit, 1 << 20, AuditLog.Durability.EACH, Duration.ofMillis(50))) {
            log.append("sandbox", Map.of("action", "provisioned", "sandbox_id", "training"));
        }
        Path agentState = Files.createDirectories(dir.resolve("agent"));
        try (ServerSocket closed = new ServerSocket(0)) {
            // A daemon that is not running: its address file names a port nothing listens on.
            Files.writeString(agentState.resolve("admin.address"), "127.0.0.1:" + closed.getLocalPort());
        }
        run("--version");
        run("--help");
        run("status", "--state-dir", agentState.toString());
        run("audit", "query", audit.toString());
        run("audit", "verify", audit.toString());
        Path cpState = dir.resolve("cp");
        try (ControlPlaneServer cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(cpState, 0));
                AdminServer admin = new AdminServer(cp, cpState, 0)) {
            run("cp", "ls", "--state-dir", cpState.toString());
            run("cp", "agents", "--state-dir", cpState.toString());
            run("cp", "token", "create", "--state-dir", cpState.toString(), "--out", dir.resolve("token").toString());
        }
    }

    private static void run(String... args) {
        try {
            Airlock.commandLine(args).execute(args);
        } catch (RuntimeException e) {
            // A command that fails here still loaded its classes, which is all the archive needs.
        }
    }
}
