package io.airlock.driver;

import java.time.Instant;

/** One entry of a workspace listing; {@code path} is relative to the workspace. */
public record FileEntry(String path, Type type, long size, Instant modifiedAt) {
    public enum Type {
        REGULAR,
        DIRECTORY,
        SYMLINK,
        OTHER
    }
}
