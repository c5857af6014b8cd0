package io.airlock.driver.docker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Plain HTTP/1.1 to the engine's unix socket for the two calls docker-java cannot make:
 *
 * <ul>
 *   <li>Starting an exec on a hijacked connection that we own, so that stdin end-of-file can be
 *       a real half-close ({@code shutdownOutput}), which is how the docker CLI signals it
 *       ({@code CloseWrite}). docker-java's zerodep and httpclient5 transports never half-close
 *       (docker-java issues #471, #1684), so {@code cat} would wait forever.</li>
 *   <li>{@code HEAD /containers/{id}/archive}, the stat that tells whether a path is a symlink
 *       and where it points, which path confinement needs.</li>
 * </ul>
 */
final class EngineSocket {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_HEADER_BYTES = 64 * 1024;
    /** Channel reads have no timeout of their own: a hung engine must not hang us, so a watchdog closes the channel. */
    static final Duration ANSWER_DEADLINE = Duration.ofSeconds(30);

    private final Path socket;
    private final String apiVersion;

    EngineSocket(Path socket, String apiVersion) {
        this.socket = socket;
        this.apiVersion = apiVersion;
    }

    /** A hijacked exec: write stdin to {@link #stdin()}, read multiplexed frames from {@link #frames()}. */
    record Hijacked(SocketChannel channel, InputStream frames, OutputStream stdin) implements AutoCloseable {
        /** Delivers end-of-file to the process's stdin while its output keeps flowing. */
        void closeStdin() throws IOException {
            channel.shutdownOutput();
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    Hijacked startExec(String execId, boolean tty) throws IOException {
        SocketChannel ch = open();
        // Only the answer to the start request has a deadline; the hijacked stream lives as long as the exec.
        try (Watchdog w = new Watchdog(ch)) {
            byte[] body = ("{\"Detach\":false,\"Tty\":" + tty + "}").getBytes(StandardCharsets.UTF_8);
            OutputStream out = Channels.newOutputStream(ch);
            InputStream in = Channels.newInputStream(ch);
            String request = "POST /v" + apiVersion + "/exec/" + execId + "/start HTTP/1.1\r\n"
                    + "Host: docker\r\nContent-Type: application/json\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n";
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            Response head = readHead(in);
            if (head.status() != 101 && head.status() != 200) {
                throw new IOException("engine refused exec start: HTTP " + head.status() + " " + readSome(in));
            }
            return new Hijacked(ch, in, out);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Closes the channel if the engine has not answered by {@link #ANSWER_DEADLINE}. */
    private static final class Watchdog implements AutoCloseable {
        private final Thread thread;

        Watchdog(SocketChannel ch) {
            this.thread = Thread.ofVirtual().name("engine-answer-deadline").start(() -> {
                try {
                    Thread.sleep(ANSWER_DEADLINE);
                    ch.close();
                } catch (InterruptedException | IOException e) {
                    // answered in time (interrupted), or already closed
                }
            });
        }

        @Override
        public void close() {
            thread.interrupt();
        }
    }

    /** What the engine says about a path inside a container, or empty when it does not exist. */
    record PathStat(String name, long size, long mode, String linkTarget, Instant modifiedAt) {
        boolean isDirectory() {
            return (mode & (1L << 31)) != 0; // Go's os.ModeDir
        }

        boolean isSymlink() {
            return (mode & (1L << 27)) != 0; // Go's os.ModeSymlink
        }
    }

    Optional<PathStat> stat(String containerId, String path) throws IOException {
        try (SocketChannel ch = open(); Watchdog w = new Watchdog(ch)) {
            OutputStream out = Channels.newOutputStream(ch);
            InputStream in = Channels.newInputStream(ch);
            String request = "HEAD /v" + apiVersion + "/containers/" + containerId + "/archive?path="
                    + URLEncoder.encode(path, StandardCharsets.UTF_8) + " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n";
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Response head = readHead(in);
            if (head.status() == 404) {
                return Optional.empty();
            }
            String encoded = head.headers().get("x-docker-container-path-stat");
            if (head.status() != 200 || encoded == null) {
                throw new IOException("engine could not stat " + path + ": HTTP " + head.status());
            }
            JsonNode s = JSON.readTree(Base64.getDecoder().decode(encoded));
            return Optional.of(new PathStat(s.path("name").asText(), s.path("size").asLong(), s.path("mode").asLong(),
                    s.path("linkTarget").asText(""), mtime(s.path("mtime").asText(""))));
        }
    }

    private static Instant mtime(String rfc3339) {
        try {
            return OffsetDateTime.parse(rfc3339).toInstant();
        } catch (DateTimeParseException e) {
            return Instant.EPOCH;
        }
    }

    private SocketChannel open() throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot reach the Docker engine at " + socket + ": " + e.getMessage(), e);
        }
        return ch;
    }

    private record Response(int status, Map<String, String> headers) {}

    /** Reads the status line and headers byte by byte, so nothing of the hijacked stream is consumed. */
    private static Response readHead(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("engine closed the connection before answering");
            }
            buf.write(b);
            if (buf.size() > MAX_HEADER_BYTES) {
                throw new IOException("engine response headers exceed " + MAX_HEADER_BYTES + " bytes");
            }
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
        }
        String[] lines = buf.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] status = lines[0].split(" ", 3);
        if (status.length < 2) {
            throw new IOException("engine sent a malformed status line: " + lines[0]);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        return new Response(Integer.parseInt(status[1]), headers);
    }

    private static String readSome(InputStream in) {
        try {
            byte[] b = in.readNBytes(512);
            return new String(b, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            return "";
        }
    }
}
