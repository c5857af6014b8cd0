package io.airlock.connector.worker;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Local approval of tool calls, through a directory only the daemon's user may write
 * ({@code state_dir/approvals}): a call waiting for approval is {@code pending/<id>.json}; an
 * operator's {@code airlock approvals allow|deny ID} writes {@code <id>.allow} or {@code <id>.deny}.
 * The file system's permissions are the access control, so nothing listens for it and the
 * loopback admin endpoint stays read-only.
 */
public final class Approvals {
    /** How a wait ended. */
    public enum Decision {
        ALLOW, DENY, EXPIRED
    }

    private static final long POLL_MILLIS = 200;
    private final Path dir;

    public Approvals(Path dir) {
        this.dir = dir;
    }

    /** A tool use id is the file's name: only these characters are accepted. */
    public static String checkId(String id) {
        if (id == null || !id.matches("[A-Za-z0-9_-]{1,128}")) {
            throw new IllegalArgumentException("'" + id + "' is not a tool use id (expected letters, digits, '_' or '-')");
        }
        return id;
    }

    /**
     * Publishes the request and waits for a decision until {@code timeout} (or until {@code cancelled});
     * the request is removed either way.
     */
    Decision await(String toolUseId, ObjectNode request, Duration timeout, java.util.function.BooleanSupplier cancelled)
            throws IOException, InterruptedException {
        checkId(toolUseId);
        Path pending = dir.resolve("pending");
        Files.createDirectories(pending);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path file = pending.resolve(toolUseId + ".json");
        Path tmp = pending.resolve("." + toolUseId + ".tmp");
        request.put("requested_at", Instant.now().toString()).put("expires_at", Instant.now().plus(timeout).toString());
        Files.writeString(tmp, request.toPrettyString());
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (System.nanoTime() < deadline && !cancelled.getAsBoolean()) {
                for (Decision d : List.of(Decision.DENY, Decision.ALLOW)) {
                    Path verdict = dir.resolve(toolUseId + "." + d.name().toLowerCase());
                    if (Files.deleteIfExists(verdict)) {
                        return d;
                    }
                }
                Thread.sleep(POLL_MILLIS);
            }
            return Decision.EXPIRED;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The requests waiting now (for {@code airlock approvals}). */
    public List<Path> pending() throws IOException {
        Path pending = dir.resolve("pending");
        if (!Files.isDirectory(pending)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(pending)) {
            return new ArrayList<>(s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList());
        }
    }

    /** Records an operator's decision; false when no call waits for it. */
    public boolean decide(String toolUseId, boolean allow) throws IOException {
        checkId(toolUseId);
        if (!Files.exists(dir.resolve("pending").resolve(toolUseId + ".json"))) {
            return false;
        }
        Files.writeString(dir.resolve(toolUseId + (allow ? ".allow" : ".deny")), Instant.now().toString());
        return true;
    }
}
