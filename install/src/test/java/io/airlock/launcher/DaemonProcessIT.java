package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `airlock run` as its own process: the first SIGTERM drains, a second one forces. */
class DaemonProcessIT {
    static final Duration T = Duration.ofSeconds(60);
    @TempDir
    Path dir;
    ControlPlaneServer cp;
    DaemonProcess daemonProcess;
    Process daemon;
    String agentId;
    org.newsclub.net.unix.AFUNIXDatagramSocket notify;
    final List<String> notifications = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0));
        agentId = new Enroller(Clock.systemUTC()).enroll(cp.createJoinToken(Duration.ofMinutes(5)).encode(), dir.resolve("agent"), "proc").agentId();
        Path config = dir.resolve("airlock.yaml");
        Files.writeString(config, """
                state_dir: %s
                admin: {listen: "127.0.0.1:0"}
                control_plane: {ping_interval: 1s, ping_timeout: 2s}
                drain: {grace_period: 60s}
                """.formatted(dir.resolve("agent")));
        // A stand-in for systemd's notification socket: every daemon of these tests reports to it.
        Path notifySocket = dir.resolve("notify.sock");
        notify = org.newsclub.net.unix.AFUNIXDatagramSocket.newInstance();
        notify.bind(org.newsclub.net.unix.AFUNIXSocketAddress.of(notifySocket));
        Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[4096];
            while (!notify.isClosed()) {
                try {
                    java.net.DatagramPacket packet = new java.net.DatagramPacket(buf, buf.length);
                    notify.receive(packet);
                    notifications.add(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8));
                } catch (java.io.IOException e) {
                    return;
                }
            }
        });
        daemonProcess = DaemonProcess.start(config, dir.resolve("daemon.log"),
                java.util.Map.of("NOTIFY_SOCKET", notifySocket.toString(), "WATCHDOG_USEC", "400000"));
        daemon = daemonProcess.process;
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, Duration.ofSeconds(30)), "daemon connected; log: " + log());
        cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("proc-box").build(), T);
    }

    @AfterEach
    void stop() throws Exception {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (cp != null) {
            cp.close();
        }
        if (notify != null) {
            notify.close();
        }
    }

    private int awaitNotification(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            for (int i = 0; i < notifications.size(); i++) {
                if (notifications.get(i).startsWith(prefix)) {
                    return i;
                }
            }
            assertTrue(System.nanoTime() < deadline, "no '" + prefix + "' among " + notifications + "; log: " + log());
            Thread.sleep(20);
        }
    }

    @Test
    void systemdHearsReadyStatusWatchdogAndStoppingInOrder() throws Exception {
        int ready = awaitNotification("READY=1");
        assertTrue(notifications.get(ready).contains("STATUS=connected to the control plane as agent " + agentId), notifications.get(ready));
        awaitNotification("WATCHDOG=1");
        daemon.destroy(); // SIGTERM: drain
        int stopping = awaitNotification("STOPPING=1");
        assertTrue(stopping > ready, "STOPPING after READY: " + notifications);
        assertTrue(notifications.get(stopping).contains("STATUS=draining (SIGTERM)"), notifications.get(stopping));
        assertEquals(1, notifications.stream().filter(n -> n.startsWith("READY=1")).count(), "READY once: " + notifications);
        assertTrue(daemon.waitFor(30, TimeUnit.SECONDS), log());
    }

    String log() {
        return daemonProcess.log();
    }

    CompletableFuture<ExecResult> execAndWaitUntilRunning(String script) throws Exception {
        CompletableFuture<ExecResult> exec = CompletableFuture.supplyAsync(() -> cp.agents().exec(agentId,
                StartExec.newBuilder().setSandboxId("proc-box").addAllArgv(List.of("sh", "-c", "touch started; " + script)).build(), null, c -> { }, T));
        Path marker = dir.resolve("agent/drivers/bubblewrap/sandboxes/proc-box/workspace/started");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!Files.exists(marker)) {
            assertTrue(System.nanoTime() < deadline, "exec did not start; log: " + log());
            Thread.sleep(20);
        }
        return exec;
    }

    void awaitDrainNotice() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (cp.registry().agent(agentId).orElseThrow().drainNotice() == null) {
            assertTrue(System.nanoTime() < deadline, "no drain notice; log: " + log());
            Thread.sleep(20);
        }
    }

    /** Issue 17.11: a second daemon on the same state directory is refused in one line, before it touches anything. */
    @Test
    void aSecondDaemonOnTheSameStateDirectoryIsRefusedInOneLine() throws Exception {
        try (DaemonProcess second = DaemonProcess.start(dir.resolve("airlock.yaml"), dir.resolve("second.log"))) {
            assertTrue(second.process.waitFor(60, TimeUnit.SECONDS), "the second daemon exits: " + second.log());
            assertEquals(2, second.process.exitValue(), second.log());
            String out = second.log();
            assertTrue(out.contains("error: cannot open the audit log in " + dir.resolve("agent/audit")) && out.contains("in use by another writer"),
                    out);
            assertTrue(out.lines().noneMatch(l -> l.strip().startsWith("at ")), "no stack trace: " + out);
        }
        assertTrue(daemon.isAlive(), "the first one runs on");
    }

    @Test
    void statusReadsTheRunningDaemonsAdminEndpoint() throws Exception {
        execAndWaitUntilRunning("true");
        String[] status = airlock("status", "--config", dir.resolve("airlock.yaml").toString());
        assertEquals("0", status[0], status[1]);
        assertTrue(status[1].contains("ready, connected to") && status[1].contains("driver bubblewrap (default): available"), status[1]);
    }

    @Test
    void firstSigtermDrainsInFlightWorkAndExitsZero() throws Exception {
        CompletableFuture<ExecResult> exec = execAndWaitUntilRunning("sleep 1; echo finished > done");
        daemon.destroy(); // SIGTERM
        awaitDrainNotice();
        assertEquals(0, exec.get(30, TimeUnit.SECONDS).getExitCode(), "in-flight exec finished during the drain");
        assertTrue(daemon.waitFor(30, TimeUnit.SECONDS), "daemon exits after the drain; log: " + log());
        assertEquals(0, daemon.exitValue(), log());
        assertEquals("finished\n", Files.readString(dir.resolve("agent/drivers/bubblewrap/sandboxes/proc-box/workspace/done"), StandardCharsets.UTF_8));
        assertTrue(Files.isDirectory(dir.resolve("agent/drivers/bubblewrap/sandboxes/proc-box")), "the sandbox outlives the daemon");

        // The audit log the daemon wrote verifies with the command line, and a changed byte is named.
        String[] ok = audit("verify", dir.resolve("agent/audit").toString());
        assertEquals("0", ok[0], ok[1]);
        assertTrue(ok[1].contains("chain and sealed head intact"), ok[1]);
        String[] query = audit("query", "--type", "command.result", "--outcome", "OK", dir.resolve("agent/audit").toString());
        assertEquals("0", query[0], query[1]);
        assertTrue(query[1].contains("action=exec") && query[1].contains("exit_code=0"), query[1]);
        Path first = dir.resolve("agent/audit/audit-000001.log");
        Files.writeString(first, Files.readString(first).replaceFirst("\"type\":\"command\"", "\"type\":\"cOmmand\""));
        String[] bad = audit("verify", dir.resolve("agent/audit").toString());
        assertEquals("1", bad[0], bad[1]);
        assertTrue(bad[1].contains("FAIL") && bad[1].contains("audit-000001.log line") && bad[1].contains("MAC"), bad[1]);
    }

    /** Runs `airlock audit ARGS` in its own JVM; returns {exit code, stdout+stderr}. */
    private static String[] audit(String... args) throws Exception {
        String[] all = new String[args.length + 1];
        all[0] = "audit";
        System.arraycopy(args, 0, all, 1, args.length);
        return airlock(all);
    }

    /** Runs `airlock ARGS` in its own JVM; returns {exit code, stdout+stderr}. */
    private static String[] airlock(String... args) throws Exception {
        String javaBin = ProcessHandle.current().info().command().orElse("java");
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                Airlock.class.getName()));
        cmd.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new String[] {Integer.toString(p.exitValue()), out};
    }

    /** Issue 17.11: status against a daemon that stopped says it is not running, not "(null)". */
    @Test
    void statusOfAStoppedDaemonSaysItIsNotRunning() throws Exception {
        daemonProcess.kill();
        String[] status = airlock("status", "--config", dir.resolve("airlock.yaml").toString());
        assertEquals("2", status[0], status[1]);
        assertTrue(status[1].contains("(connection refused): it is not running") && !status[1].contains("null"), status[1]);
    }

    @Test
    void aSecondSigtermStopsWithoutWaitingForTheGracePeriod() throws Exception {
        execAndWaitUntilRunning("sleep 120");
        daemon.destroy();
        awaitDrainNotice();
        assertTrue(daemon.isAlive(), "still draining: the exec runs and the grace period is 60s");
        daemon.destroy();
        assertTrue(daemon.waitFor(20, TimeUnit.SECONDS), "the second SIGTERM stops the daemon; log: " + log());
    }

    @Test
    void sighupReloadsPolicyAndLogLevelWithoutDroppingTheConnectionAndKeepsTheRunningConfigOnABadFile() throws Exception {
        Path config = dir.resolve("airlock.yaml");
        String original = Files.readString(config);
        java.time.Instant connectedAt = cp.registry().agent(agentId).orElseThrow().connectedAt();
        CompletableFuture<ExecResult> running = execAndWaitUntilRunning("sleep 2; echo done");
        assertTrue(!log().contains("log level now"), "info level: no debug lines yet");

        Files.writeString(config, original + "policy: {max_sandboxes: 1}\nlog: {level: debug}\n");
        hup();
        awaitLog("configuration reloaded");
        awaitLog("log level now debug, format json");
        io.airlock.controlplane.gateway.CommandFailedException denied = org.junit.jupiter.api.Assertions.assertThrows(
                io.airlock.controlplane.gateway.CommandFailedException.class,
                () -> cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("second").build(), T));
        assertEquals(io.airlock.proto.v1.ErrorCode.POLICY_DENIED, denied.error().getCode());
        assertTrue(denied.getMessage().contains("policy.max_sandboxes allows (1)"), denied.getMessage());

        // A file that does not load changes nothing: the error is logged and audited, the reloaded policy stays.
        Files.writeString(config, original + "policy: {max_sandboxes: many}\n");
        hup();
        awaitLog("configuration reload refused, the running configuration stays");
        org.junit.jupiter.api.Assertions.assertThrows(io.airlock.controlplane.gateway.CommandFailedException.class,
                () -> cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId("third").build(), T));

        assertEquals(0, running.get(30, TimeUnit.SECONDS).getExitCode(), "the exec across the reloads ran to its end");
        assertEquals(connectedAt, cp.registry().agent(agentId).orElseThrow().connectedAt(), "same control session throughout");
        assertTrue(cp.registry().events(agentId).stream().noneMatch(e -> e.kind().equals("disconnected")), cp.registry().events(agentId).toString());

        // Operational logs are structured: every line the daemon wrote is a JSON object with a level and a message.
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<String> lines = log().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(lines.size() > 5, log());
        for (String line : lines) {
            com.fasterxml.jackson.databind.JsonNode node;
            try {
                node = json.readTree(line);
            } catch (Exception e) {
                throw new AssertionError("not a JSON line: " + line, e);
            }
            assertTrue(node.hasNonNull("level") && node.hasNonNull("formattedMessage") && node.hasNonNull("timestamp"), line);
            java.time.Instant.parse(node.path("timestamp").asText()); // ISO-8601, not epoch milliseconds
            assertFalse(node.has("throwable") && node.get("throwable").isNull(), "no throwable:null: " + line);
        }

        String[] reloads = audit("query", "--type", "config.reloaded", "--json", dir.resolve("agent/audit").toString());
        assertEquals("0", reloads[0], reloads[1]);
        assertTrue(reloads[1].contains("\"applied\":[\"policy\",\"log\"]"), reloads[1]);
        String[] refused = audit("query", "--type", "config.reload_refused", dir.resolve("agent/audit").toString());
        assertTrue(refused[1].contains("max_sandboxes"), refused[1]);
    }

    private void hup() throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-HUP", Long.toString(daemon.pid())).inheritIO().start().waitFor());
    }

    private void awaitLog(String text) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!log().contains(text)) {
            assertTrue(System.nanoTime() < deadline, "no '" + text + "' in the log: " + log());
            Thread.sleep(50);
        }
    }
}
