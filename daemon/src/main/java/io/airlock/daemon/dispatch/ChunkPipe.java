package io.airlock.daemon.dispatch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bounded pipe from Data-stream frames to a consumer thread. {@link java.io.PipedInputStream}
 * does not fit: it fails with "write end dead" once the thread that last wrote has ended, and
 * every frame arrives on a virtual thread of its own. Writes wait while {@code capacity} chunks
 * are queued (that is the flow control), and fail once the reader has gone; either side gives
 * up after {@code stall} without progress from the other.
 */
final class ChunkPipe {
    private static final byte[] EOF = new byte[0];
    private final ArrayBlockingQueue<byte[]> queue;
    private final java.time.Duration stall;
    private volatile boolean readerGone;
    private volatile boolean writerDone;

    ChunkPipe(int capacity, java.time.Duration stall) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.stall = stall;
    }

    private void put(byte[] chunk) throws IOException {
        long deadline = System.nanoTime() + stall.toNanos();
        try {
            while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                if (readerGone) {
                    throw new IOException("the reader stopped reading");
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("the reader took nothing for " + stall);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing");
        }
    }

    final OutputStream sink = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (writerDone) {
                throw new IOException("pipe closed");
            }
            if (readerGone) {
                throw new IOException("the reader stopped reading");
            }
            if (len > 0) {
                put(Arrays.copyOfRange(b, off, off + len));
            }
        }

        @Override
        public void close() throws IOException {
            if (!writerDone) {
                writerDone = true;
                if (!readerGone) {
                    put(EOF);
                }
            }
        }
    };

    final InputStream source = new InputStream() {
        private byte[] current = new byte[0];
        private int pos;
        private boolean ended;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (pos >= current.length) {
                if (ended) {
                    return -1;
                }
                try {
                    current = queue.poll(stall.toMillis(), TimeUnit.MILLISECONDS);
                    if (current == null) {
                        current = new byte[0];
                        throw new IOException("no data arrived for " + stall);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while reading");
                }
                pos = 0;
                if (current == EOF) {
                    ended = true;
                    return -1;
                }
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() {
            readerGone = true;
            queue.clear();
        }
    };
}
