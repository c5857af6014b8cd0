package io.airlock.core.work;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;

/**
 * What came of a piece of work: one of these per kind of answer, or {@link Failed}. Plain values
 * (names, epoch milliseconds) so that a connector encodes them without the driver's types and
 * the journal keeps them as JSON.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Outcome.Failed.class, name = "failed"),
    @JsonSubTypes.Type(value = Outcome.SandboxDone.class, name = "sandbox"),
    @JsonSubTypes.Type(value = Outcome.Sandboxes.class, name = "sandboxes"),
    @JsonSubTypes.Type(value = Outcome.Destroyed.class, name = "destroyed"),
    @JsonSubTypes.Type(value = Outcome.ExecDone.class, name = "exec"),
    @JsonSubTypes.Type(value = Outcome.FileDone.class, name = "file"),
    @JsonSubTypes.Type(value = Outcome.Files.class, name = "files"),
    @JsonSubTypes.Type(value = Outcome.StatDone.class, name = "stat"),
    @JsonSubTypes.Type(value = Outcome.SnapshotDone.class, name = "snapshot"),
    @JsonSubTypes.Type(value = Outcome.Snapshots.class, name = "snapshots"),
    @JsonSubTypes.Type(value = Outcome.SnapshotDeleted.class, name = "snapshot_deleted"),
    @JsonSubTypes.Type(value = Outcome.McpDone.class, name = "mcp"),
})
public sealed interface Outcome {
    record SandboxView(String sandboxId, String driver, String state, long createdAtMs, Map<String, String> labels,
            List<Work.RuleSpec> egress) {}

    /** @param type REGULAR, DIRECTORY, SYMLINK or OTHER */
    record FileView(String path, String type, long size, long modifiedAtMs) {}

    record SnapshotView(String name, String sourceSandboxId, long createdAtMs, long sizeBytes, String driver) {}

    record Failed(WorkError error, String message) implements Outcome {}

    record SandboxDone(SandboxView sandbox) implements Outcome {}

    record Sandboxes(List<SandboxView> sandboxes) implements Outcome {}

    record Destroyed() implements Outcome {}

    record ExecDone(int exitCode, boolean timedOut, boolean outputTruncated, long stdoutBytes, long stderrBytes, long durationMs)
            implements Outcome {}

    /** A file or archive moved: what arrived or left, and its SHA-256 in hex; {@code entries} for archives written. */
    record FileDone(String path, long size, String sha256, long entries) implements Outcome {}

    record Files(List<FileView> entries) implements Outcome {}

    record StatDone(FileView entry) implements Outcome {}

    record SnapshotDone(SnapshotView snapshot) implements Outcome {}

    record Snapshots(List<SnapshotView> snapshots) implements Outcome {}

    record SnapshotDeleted() implements Outcome {}

    record McpDone(int status, long requestBytes, long responseBytes) implements Outcome {}

    static Failed failed(WorkError error, String message) {
        return new Failed(error, message);
    }
}
