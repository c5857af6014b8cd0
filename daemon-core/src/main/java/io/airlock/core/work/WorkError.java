package io.airlock.core.work;

/** Why work failed, as every connector reports it (airlock.v1 maps these one to one onto ErrorCode). */
public enum WorkError {
    /** Malformed work; the message names the field. */
    INVALID_ARGUMENT,
    /** Unknown sandbox, file, snapshot or server. */
    NOT_FOUND,
    ALREADY_EXISTS,
    /** The local policy refuses it; the message names the rule. */
    POLICY_DENIED,
    /** A driver, an upstream, the audit log or the link is not usable now; retry later. */
    UNAVAILABLE,
    DEADLINE_EXCEEDED,
    /** A local limit is reached. */
    RESOURCE_EXHAUSTED,
    /** e.g. a path escaping the sandbox, a sandbox not running. */
    FAILED_PRECONDITION,
    /** The agent is stopping and takes no new work. */
    DRAINING,
    /** The driver lacks the capability. */
    UNIMPLEMENTED,
    /** A bug or an unexpected host failure; see the agent's log. */
    INTERNAL,
    /** A repeat of work with effects that was cut short by a restart: it is not run again. */
    OUTCOME_UNKNOWN
}
