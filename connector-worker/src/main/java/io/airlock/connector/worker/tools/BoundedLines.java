package io.airlock.connector.worker.tools;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A file's lines, each held only up to {@code max} characters: a line longer than that is read
 * to its end but not kept ({@link #tooLong()} says so). BufferedReader.readLine would hold a
 * file with no newline in memory whole.
 */
final class BoundedLines implements Closeable {
    private final BufferedReader in;
    private final int max;
    private boolean tooLong;

    BoundedLines(InputStream in, int max) {
        this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        this.max = max;
    }

    /** The next line (empty when it was too long), or null at the end. */
    String next() throws IOException {
        StringBuilder line = new StringBuilder();
        tooLong = false;
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (line.length() < max) {
                line.append((char) c);
            } else {
                tooLong = true;
            }
        }
        if (c < 0 && line.isEmpty() && !tooLong) {
            return null;
        }
        int last = line.length() - 1;
        if (last >= 0 && line.charAt(last) == '\r') {
            line.setLength(last);
        }
        return tooLong ? "" : line.toString();
    }

    /** Whether the line {@link #next()} returned was longer than the bound (and so not kept). */
    boolean tooLong() {
        return tooLong;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
