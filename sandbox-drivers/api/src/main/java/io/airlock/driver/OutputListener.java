package io.airlock.driver;

/**
 * Receives process output. Calls are serialised and in {@code seq} order. The listener may
 * block (for example until the network can take more): the process is then held back by its
 * full pipe, which is how flow control reaches it.
 */
@FunctionalInterface
public interface OutputListener {
    void onOutput(OutputChunk chunk) throws InterruptedException;
}
