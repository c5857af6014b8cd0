package io.airlock.connector.worker.tools;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One output stream of one command, as the SDK 1.16 shell keeps it: the text before the
 * sentinel that ends it ({@code \n?SENTINEL<status>\n}), its first {@value #LIMIT} characters
 * (and a little more) in memory, its line breaks counted, and the rest spooled to a private file
 * on the daemon's host, at most {@value #SAVED_BYTES} bytes, for the file the answer names.
 * Not thread-safe: the shell feeds it under its lock.
 */
final class CommandStream implements AutoCloseable {
    /** The SDK's BASH_OUTPUT_LIMIT: characters of output an answer keeps. */
    static final int LIMIT = 30_000;
    /** The SDK's BASH_SAVED_OUTPUT_BYTES: the most the saved file holds. */
    static final long SAVED_BYTES = 32L << 20;

    private final Pattern end;
    private final int sentinelLength;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    /** Bytes of a character split across chunks. */
    private ByteBuffer pending = ByteBuffer.allocate(0);
    final StringBuilder start = new StringBuilder();
    long lineBreaks;
    /** The status the sentinel carried; null until it came. */
    Integer status;
    private String held = "";
    private Path spool;
    private OutputStream spooled;
    private long spooledBytes;

    CommandStream(String sentinel) {
        this.end = Pattern.compile("\n?" + Pattern.quote(sentinel) + "(\\d+)\n");
        this.sentinelLength = sentinel.length() + 4;
    }

    void append(byte[] data) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(pending.remaining() + data.length).put(pending).put(data).flip();
        CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
        decoder.decode(in, out, false);
        pending = in.slice();
        appendText(out.flip().toString());
    }

    private void appendText(String chunk) throws IOException {
        if (status != null) {
            return;
        }
        String text = held + chunk;
        Matcher m = end.matcher(text);
        boolean found = m.find();
        // Without the sentinel, the end is held back: it may be the sentinel's first part.
        String output = startOf(text, found ? m.start() : text.length() - sentinelLength);
        keep(output);
        held = found ? "" : text.substring(output.length());
        if (found) {
            status = Integer.parseInt(m.group(1).length() > 9 ? "-1" : m.group(1));
        }
    }

    /** The stream ended (the command did, or the shell): what was held back is output, and {@code last} too. */
    void end(String last) throws IOException {
        keep(held + last);
        held = "";
    }

    private void keep(String text) throws IOException {
        if (text.isEmpty()) {
            return;
        }
        lineBreaks += lineBreaks(text);
        if (start.length() <= LIMIT) {
            start.append(text);
            return;
        }
        if (spooledBytes >= SAVED_BYTES) {
            return;
        }
        if (spooled == null) {
            spool = Files.createTempFile("airlock-bash-", ".out", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            spooled = Files.newOutputStream(spool);
        }
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        spooled.write(b);
        spooledBytes += b.length;
    }

    /** Writes the whole stream (its start, then what was spooled) to {@code out}, at most {@code room} bytes; returns what is left of the room. */
    long copyTo(OutputStream out, long room) throws IOException {
        room = write(out, start.toString().getBytes(StandardCharsets.UTF_8), room);
        if (spooled != null && room > 0) {
            spooled.flush();
            try (var in = Files.newInputStream(spool)) {
                byte[] buf = new byte[64 * 1024];
                for (int n; room > 0 && (n = in.read(buf)) > 0;) {
                    room = write(out, java.util.Arrays.copyOf(buf, n), room);
                }
            }
        }
        return room;
    }

    static long write(OutputStream out, byte[] b, long room) throws IOException {
        int n = (int) Math.min(b.length, Math.max(0, room));
        out.write(b, 0, n);
        return room - b.length;
    }

    static long lineBreaks(CharSequence text) {
        long n = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }

    /** The first {@code length} characters, never ending on half a surrogate pair. */
    static String startOf(String text, int length) {
        int n = Math.max(0, Math.min(length, text.length()));
        if (n > 0 && Character.isHighSurrogate(text.charAt(n - 1))) {
            n--;
        }
        return text.substring(0, n);
    }

    @Override
    public void close() {
        try {
            if (spooled != null) {
                spooled.close();
            }
            if (spool != null) {
                Files.deleteIfExists(spool);
            }
        } catch (IOException e) {
            // a temporary file left in the host's temp directory; nothing of the session depends on it
        }
        spooled = null;
        spool = null;
    }
}
