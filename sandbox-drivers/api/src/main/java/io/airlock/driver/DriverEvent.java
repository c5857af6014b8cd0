package io.airlock.driver;

/**
 * Something that happened to a sandbox without anyone asking, reported by its driver.
 *
 * @param pull set for {@link Kind#IMAGE_PULL}, null otherwise
 */
public record DriverEvent(String sandboxId, Kind kind, String detail, ImagePull pull) {
    public enum Kind {
        /** A process in the sandbox was killed because the sandbox hit its memory limit. */
        OOM_KILL,
        /** Progress of an image being pulled for a sandbox being provisioned. */
        IMAGE_PULL
    }

    /**
     * One step of a pull: {@code status} as the engine says it ("Downloading", "Pull complete",
     * ...), for {@code layer} (empty for the image as a whole), bytes so far of {@code total}
     * (0 when unknown).
     */
    public record ImagePull(String image, String layer, String status, long current, long total) {}

    public DriverEvent(String sandboxId, Kind kind, String detail) {
        this(sandboxId, kind, detail, null);
    }
}
