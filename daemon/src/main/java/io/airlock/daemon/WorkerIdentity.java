package io.airlock.daemon;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The agent id of a daemon that is not enrolled with an airlock.v1 control plane and serves
 * work-queue environments only. Drivers label sandboxes with it, so it must survive restarts:
 * it is made once and kept in the state directory.
 */
final class WorkerIdentity {
    private WorkerIdentity() {}

    static String agentId(Path stateDir) {
        Path file = stateDir.resolve("worker-agent-id");
        try {
            if (Files.exists(file)) {
                String id = Files.readString(file, StandardCharsets.US_ASCII).strip();
                if (id.matches("wk-[0-9a-f]{16}")) {
                    return id;
                }
                throw new IOException(file + " holds '" + id + "' (expected: wk- and 16 hex digits; remove it to make a new one)");
            }
            byte[] b = new byte[8];
            new SecureRandom().nextBytes(b);
            String id = "wk-" + HexFormat.of().formatHex(b);
            Files.createDirectories(stateDir);
            Path tmp = stateDir.resolve("worker-agent-id.tmp");
            Files.writeString(tmp, id + "\n", StandardCharsets.US_ASCII);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or make the worker's agent id: " + e.getMessage(), e);
        }
    }
}
