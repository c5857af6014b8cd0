package io.airlock.driver;

/**
 * Process output as relayed to the caller. {@code seq} starts at 1 and counts chunks of both
 * streams together, so receivers see how stdout and stderr interleaved.
 */
public record OutputChunk(long seq, Stream stream, byte[] data) {
    public enum Stream {
        STDOUT,
        STDERR
    }
}
