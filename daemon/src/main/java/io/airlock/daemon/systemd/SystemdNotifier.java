package io.airlock.daemon.systemd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells systemd how the daemon is doing (sd_notify): {@code READY=1} after the first
 * registration, {@code STATUS=} lines, {@code WATCHDOG=1} every half watchdog period, and
 * {@code STOPPING=1} when draining. Without {@code NOTIFY_SOCKET} (not started by systemd, or
 * not {@code Type=notify}) every call does nothing. The socket is a unix datagram socket (or one
 * in the abstract namespace, for names starting with "@"); junixsocket sends to it because the
 * JDK's unix sockets are stream-only.
 */
public final class SystemdNotifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SystemdNotifier.class);

    private final AFUNIXSocketAddress target;
    private final ScheduledExecutorService watchdog;
    private boolean ready;

    private SystemdNotifier(AFUNIXSocketAddress target, long watchdogMicros) {
        this.target = target;
        this.watchdog = target != null && watchdogMicros > 0 ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "systemd-watchdog");
            t.setDaemon(true);
            return t;
        }) : null;
        if (watchdog != null) {
            long every = Math.max(1, watchdogMicros / 2);
            watchdog.scheduleAtFixedRate(() -> send("WATCHDOG=1"), every, every, TimeUnit.MICROSECONDS);
        }
    }

    /** From {@code NOTIFY_SOCKET}, {@code WATCHDOG_USEC} and {@code WATCHDOG_PID} in {@code env}. */
    public static SystemdNotifier from(Map<String, String> env) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return new SystemdNotifier(null, 0);
        }
        long watchdogMicros = 0;
        String usec = env.get("WATCHDOG_USEC");
        String pid = env.get("WATCHDOG_PID");
        if (usec != null && (pid == null || pid.equals(Long.toString(ProcessHandle.current().pid())))) {
            try {
                watchdogMicros = Long.parseLong(usec);
            } catch (NumberFormatException e) {
                log.warn("ignoring WATCHDOG_USEC={} (expected microseconds)", usec);
            }
        }
        try {
            AFUNIXSocketAddress address = socket.startsWith("@")
                    ? AFUNIXSocketAddress.inAbstractNamespace(socket.substring(1))
                    : AFUNIXSocketAddress.of(Path.of(socket));
            return new SystemdNotifier(address, watchdogMicros);
        } catch (IOException e) {
            log.warn("NOTIFY_SOCKET={} is unusable ({}); not notifying systemd", socket, e.toString());
            return new SystemdNotifier(null, 0);
        }
    }

    /** READY=1 the first time only, with a status line. */
    public synchronized void ready(String status) {
        if (!ready) {
            ready = true;
            send("READY=1\nSTATUS=" + status);
        } else {
            status(status);
        }
    }

    public void status(String status) {
        send("STATUS=" + status.replace('\n', ' '));
    }

    public void stopping(String status) {
        send("STOPPING=1\nSTATUS=" + status.replace('\n', ' '));
    }

    private void send(String message) {
        if (target == null) {
            return;
        }
        try (AFUNIXDatagramChannel channel = AFUNIXDatagramChannel.open()) {
            channel.send(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)), target);
        } catch (IOException | RuntimeException e) {
            // Telling systemd must never break what the daemon was doing.
            log.warn("sd_notify to {} failed: {}", target, e.toString());
        }
    }

    @Override
    public void close() {
        if (watchdog != null) {
            watchdog.shutdownNow();
        }
    }
}
