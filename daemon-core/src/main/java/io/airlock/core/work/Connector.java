package io.airlock.core.work;

/**
 * The one way out of the core to whoever sent the work (the airlock.v1 gRPC link, a hosted
 * platform's work queue): results, events, and data channels for work that moves bytes.
 * Implementations encode to their wire and never block for long.
 */
public interface Connector {
    /** The result of work {@code workId}; sent once per piece of work (again for a repeat). */
    void reply(String workId, Outcome outcome);

    void event(AgentEvent event);

    /**
     * Opens the data channel of work {@code workId}, bound by its deadline.
     *
     * @throws WorkException UNAVAILABLE when the link cannot carry one now
     */
    DataChannel openData(String workId, long deadlineMs, DataChannel.Inbound inbound) throws WorkException;
}
