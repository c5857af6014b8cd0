package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.connector.grpc.identity.AgentIdentity;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `airlock enroll --if-needed`, as the systemd unit's ExecStartPre runs it on every start. */
class EnrollIfNeededIT {
    @TempDir
    Path dir;

    private int enroll(String... args) {
        return Airlock.commandLine(args).execute(args);
    }

    @Test
    void enrolsOnceThenLeavesTheIdentityAloneWithoutReadingTheToken() throws Exception {
        try (ControlPlaneServer cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0))) {
            Path state = dir.resolve("state");
            Path token = dir.resolve("join-token");
            Files.writeString(token, cp.createJoinToken(Duration.ofMinutes(5)).encode());
            assertEquals(0, enroll("enroll", "--if-needed", "--state-dir", state.toString(), "--token-file", token.toString(), "--name", "svc"));
            String agentId = AgentIdentity.load(state).agentId();
            // As the README says: the key and the certificate (and the rest of identity/) are 0600, in a 0700 directory.
            Path identity = AgentIdentity.dir(state);
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(identity)));
            try (var files = Files.list(identity)) {
                for (Path f : files.toList()) {
                    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
                }
            }

            // Next start: the token was used (or removed, and systemd hands over an empty credential).
            Files.writeString(token, "");
            assertEquals(0, enroll("enroll", "--if-needed", "--state-dir", state.toString(), "--token-file", token.toString()));
            assertEquals(agentId, AgentIdentity.load(state).agentId(), "the identity is kept");
            assertEquals(2, enroll("enroll", "--state-dir", state.toString(), "--token-file", token.toString()), "without --if-needed it refuses");
            assertEquals(2, enroll("enroll", "--if-needed", "--force", "--state-dir", state.toString(), "--token-file", token.toString()));
        }
    }

    @Test
    void anEmptyTokenWithoutAnIdentityIsAClearError() throws Exception {
        Path token = Files.writeString(dir.resolve("join-token"), "");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            assertEquals(2, enroll("enroll", "--if-needed", "--state-dir", dir.resolve("state").toString(), "--token-file", token.toString()));
        } finally {
            System.setErr(err);
        }
        assertTrue(captured.toString().contains("is empty") && captured.toString().contains("airlock cp token create"), captured.toString());
    }

    /** A work-queue worker needs no enrollment: the unit's ExecStartPre passes without a token when environments are configured. */
    @Test
    void aWorkerOnlyConfigurationStartsWithoutAJoinToken() throws Exception {
        Path token = Files.writeString(dir.resolve("join-token"), "");
        Path config = Files.writeString(dir.resolve("airlock.yaml"), """
                state_dir: %s
                environments:
                  - {api_url: "https://api.example.com", environment_id: env_1, key_file: /etc/airlock/env.key}
                """.formatted(dir.resolve("state")));
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true));
        try {
            assertEquals(0, enroll("enroll", "--if-needed", "--config", config.toString(), "--token-file", token.toString()));
        } finally {
            System.setOut(out);
        }
        assertTrue(captured.toString().contains("not enrolling: no join token, and the configuration serves 1 work-queue environment(s)"),
                captured.toString());
        assertTrue(!AgentIdentity.exists(dir.resolve("state")));
    }

    private String stderrOf(Runnable r) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try {
            r.run();
        } finally {
            System.setErr(err);
        }
        return captured.toString();
    }

    /** Issue 17.11: a missing token file is named with what was expected; one others can read is enrolled with a warning. */
    @Test
    void aMissingTokenFileIsNamedAndAReadableOneIsWarnedAbout() throws Exception {
        Path missing = dir.resolve("no-such-token");
        String err = stderrOf(() -> assertEquals(2, enroll("enroll", "--state-dir", dir.resolve("a").toString(), "--token-file", missing.toString())));
        assertTrue(err.startsWith("error: no join token file " + missing + " (expected: the file 'airlock cp token create --out FILE' wrote"), err);

        try (ControlPlaneServer cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(dir.resolve("cp"), 0))) {
            Path token = Files.writeString(dir.resolve("open-token"), cp.createJoinToken(Duration.ofMinutes(5)).encode());
            Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            String warned = stderrOf(() -> assertEquals(0, enroll("enroll", "--state-dir", dir.resolve("b").toString(), "--token-file",
                    token.toString(), "--name", "w")));
            assertTrue(warned.startsWith("warning: the join token file " + token + " is readable by other users (mode rw-r--r--)"), warned);
        }
    }
}
