package io.airlock.driver;

/** Something that happened to a sandbox without anyone asking, reported by its driver. */
public record DriverEvent(String sandboxId, Kind kind, String detail) {
    public enum Kind {
        /** A process in the sandbox was killed because the sandbox hit its memory limit. */
        OOM_KILL
    }
}
