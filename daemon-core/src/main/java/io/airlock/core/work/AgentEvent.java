package io.airlock.core.work;

/** Something the agent tells its caller unasked, through {@link Connector#event}. */
public sealed interface AgentEvent {
    /** A sandbox changed state (provisioned, failed, paused, reaped, ...). */
    record SandboxChanged(String sandboxId, String state, String reason) implements AgentEvent {}

    /** An exec ended; also the work's result, sent early so a caller that lost the stream learns it. */
    record ExecFinished(String workId, String sandboxId, Outcome.ExecDone result) implements AgentEvent {}

    record PolicyDenied(String workId, String rule, String message) implements AgentEvent {}

    record OomKill(String sandboxId, String detail) implements AgentEvent {}

    record ImagePull(String sandboxId, String image, String layer, String status, long currentBytes, long totalBytes)
            implements AgentEvent {}

    record DriverStatus(String driver, boolean available, String reason) implements AgentEvent {}
}
