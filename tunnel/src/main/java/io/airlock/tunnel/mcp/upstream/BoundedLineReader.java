package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.mcp.jsonrpc.ByteSearch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads LF-terminated lines as bytes, refusing one longer than a bound before holding it whole.
 * (BufferedReader.readLine has no bound, and reading it char by char to bound it was the
 * slowest part of a large stdio answer.)
 */
final class BoundedLineReader {
    /** A line past the bound. */
    static final class TooLongException extends IOException {
        TooLongException(String message) {
            super(message);
        }
    }

    private final InputStream in;
    private final int max;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int limit;

    BoundedLineReader(InputStream in, int max) {
        this.in = in;
        this.max = max;
    }

    /** The next line without its LF; at the end of input the unterminated rest, or null when there is none. */
    byte[] readLine() throws IOException {
        ByteArrayOutputStream longLine = null;
        while (true) {
            if (pos == limit) {
                int n = in.read(buf);
                if (n < 0) {
                    return longLine == null || longLine.size() == 0 ? null : longLine.toByteArray();
                }
                pos = 0;
                limit = n;
            }
            int start = pos;
            pos = ByteSearch.indexOf(buf, pos, limit, (byte) '\n');
            int n = pos - start;
            int total = (longLine == null ? 0 : longLine.size()) + n;
            if (total > max) {
                throw new TooLongException("a line longer than " + max + " bytes");
            }
            boolean ended = pos < limit;
            if (ended) {
                pos++; // past the LF
                if (longLine == null) {
                    return Arrays.copyOfRange(buf, start, start + n);
                }
            }
            if (longLine == null) {
                longLine = new ByteArrayOutputStream(Math.max(256, n * 2));
            }
            longLine.write(buf, start, n);
            if (ended) {
                return longLine.toByteArray();
            }
        }
    }
}
