package io.airlock.daemon.cli;

import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.Enroller;
import io.airlock.connector.grpc.identity.EnrollmentException;
import io.airlock.core.audit.AuditLog;
import io.airlock.core.config.DaemonConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code airlock enroll}: join a control plane with a one-time token read from a file or stdin (never argv). */
@Command(name = "enroll", mixinStandardHelpOptions = true,
        description = {"Join a control plane with a one-time join token (read from a file or stdin, never argv).",
            "Makes a key on this host, sends a CSR, and stores key (0600) and certificate in state_dir/identity."})
public final class EnrollCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions options = new ConfigOptions();

    @Option(names = "--token-file", required = true,
            description = "File holding the join token ('-' for stdin; with systemd: $CREDENTIALS_DIRECTORY/join-token)")
    String tokenFile;

    @Option(names = "--name", description = "Agent name shown to the control plane. Default: this host's name")
    String name;

    @Option(names = "--force", description = "Enrol again even if this state directory already holds an identity")
    boolean force;

    @Option(names = "--if-needed", description = "Do nothing (exit 0) if this state directory already holds an identity (the token "
            + "file is then not read), or if the token file is empty or missing and the configuration has environments: (a work-queue "
            + "worker needs no enrollment). For a service's start (ExecStartPre)")
    boolean ifNeeded;

    /** The token file's text, or null after saying why it cannot be read; warns when others may read it (it is a secret). */
    static String readToken(Path file) throws IOException {
        try {
            String token = Files.readString(file);
            var mode = Files.getPosixFilePermissions(file);
            if (mode.stream().anyMatch(p -> p.name().startsWith("GROUP") || p.name().startsWith("OTHERS"))) {
                System.err.println("warning: the join token file " + file + " is readable by other users (mode "
                        + PosixFilePermissions.toString(mode) + "): a join token is a secret until it is used; "
                        + "chmod 600 it ('airlock cp token create --out' writes it so)");
            }
            return token;
        } catch (NoSuchFileException e) {
            System.err.println("error: no join token file " + file + " (expected: the file 'airlock cp token create --out FILE' wrote, "
                    + "or - for standard input)");
            return null;
        } catch (AccessDeniedException e) {
            System.err.println("error: cannot read the join token file " + file + ": permission denied (run as its owner, or as root)");
            return null;
        }
    }

    private static boolean isEmptyOrMissing(Path file) {
        try {
            return !Files.exists(file) || Files.size(file) == 0;
        } catch (IOException e) {
            return false; // unreadable: reading it says why
        }
    }

    @Override
    public Integer call() throws Exception {
        DaemonConfig config = options.load();
        if (force && ifNeeded) {
            System.err.println("error: --force and --if-needed contradict each other; give one");
            return 2;
        }
        if (AgentIdentity.exists(config.stateDir()) && ifNeeded) {
            System.out.println("already enrolled as " + AgentIdentity.load(config.stateDir()).agentId() + "; nothing to do");
            return 0;
        }
        if (ifNeeded && !config.environments().isEmpty() && !tokenFile.equals("-") && isEmptyOrMissing(Path.of(tokenFile))) {
            // A worker of work-queue environments only needs no airlock.v1 identity.
            System.out.println("not enrolling: no join token, and the configuration serves " + config.environments().size()
                    + " work-queue environment(s), which need none");
            return 0;
        }
        if (AgentIdentity.exists(config.stateDir()) && !force) {
            System.err.println("error: " + config.stateDir() + " already holds an enrolled identity ("
                    + AgentIdentity.load(config.stateDir()).agentId() + "); use --force to replace it");
            return 2;
        }
        String token = tokenFile.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : readToken(Path.of(tokenFile));
        if (token == null) {
            return 2;
        }
        if (token.isBlank()) {
            // Under systemd an absent /etc/airlock/join-token arrives as an empty credential.
            System.err.println("error: the join token file " + tokenFile + " is empty and " + config.stateDir()
                    + " holds no identity; create a token on the control plane ('airlock cp token create') and put it there");
            return 2;
        }
        String agentName = name != null ? name : hostName();
        Files.createDirectories(config.stateDir());
        // Opened first: a running daemon holds the log, and enrolling under it would swap its identity unseen.
        try (AuditLog audit = AuditLog.open(config.auditDir(), config.audit().maxFileBytes().bytes(), AuditLog.Durability.EACH,
                config.audit().groupInterval(), "airlock enroll")) {
            AgentIdentity id;
            try {
                id = new Enroller(Clock.systemUTC()).enroll(token, config.stateDir(), agentName);
            } catch (EnrollmentException e) {
                audit.append("identity", Map.of("event", "enrolment_failed", "agent_name", agentName, "reason", e.getMessage()));
                throw e;
            }
            audit.append("identity", Map.of("event", "enrolled", "agent_id", id.agentId(), "agent_name", agentName,
                    "control_plane", id.controlPlaneAddress(), "serial", id.certificate().getSerialNumber().toString(16),
                    "not_after", id.certificate().getNotAfter().toInstant().toString(), "ca_certificates", id.caBundle().size()));
            System.out.println("enrolled as " + id.agentId() + " with " + id.controlPlaneAddress() + "; certificate valid until "
                    + id.certificate().getNotAfter().toInstant());
            return 0;
        }
    }

    /**
     * The kernel's host name, as {@code hostname} prints it. InetAddress.getLocalHost() would resolve
     * it, and fails on a host whose name is in neither DNS nor /etc/hosts (a fresh container, say).
     */
    static String hostName() throws IOException {
        Path kernel = Path.of("/proc/sys/kernel/hostname");
        if (Files.isReadable(kernel)) {
            String n = Files.readString(kernel).strip();
            if (!n.isEmpty()) {
                return n;
            }
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            throw new IOException("cannot tell this host's name (" + e.getMessage() + "); pass --name");
        }
    }
}
