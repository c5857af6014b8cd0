package io.airlock.core.work;

/**
 * One piece of work as a connector hands it over.
 *
 * @param id         chosen by the caller, unique per piece of work: a repeat with the same id gets the first result
 * @param deadlineMs epoch milliseconds after which it must not start; 0: none
 */
public record WorkItem(String id, long deadlineMs, Work work) {
    /** The deadline, or an hour from now when the caller set none. */
    public long deadlineOrHour() {
        return deadlineMs > 0 ? deadlineMs : System.currentTimeMillis() + 3_600_000L;
    }
}
