package io.airlock.driver.bubblewrap;

import io.airlock.driver.DriverException;
import io.airlock.driver.DriverException.Kind;
import io.airlock.driver.EgressPort;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How a bubblewrap sandbox reaches the egress proxy: its network namespace has loopback only,
 * and each exec starts a {@code socat} inside it that listens on 127.0.0.1:PORT and forwards
 * every connection to a unix socket bound into the sandbox. The daemon's proxy listens on that
 * socket, one per sandbox, so each connection is known to come from that sandbox. socat is the
 * host's (Debian: apt-get install socat): a JVM per exec would cost far more, and the sandbox's
 * /usr is the host's anyway.
 */
final class EgressBridge {
    static final String SOCKET_IN_SANDBOX = "/run/airlock/egress.sock";
    /** Linux's sun_path holds 108 bytes including the terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;

    private final EgressPort port;
    private final Path socat;
    private final Map<String, EgressPort.Listener> listeners = new ConcurrentHashMap<>();

    private EgressBridge(EgressPort port, Path socat) {
        this.port = port;
        this.socat = socat;
    }

    /** Empty when egress is off, or when socat is missing (then the reason is logged by the caller). */
    static Optional<EgressBridge> create(Optional<EgressPort> port, Optional<Path> socat) {
        return port.isPresent() && socat.isPresent() ? Optional.of(new EgressBridge(port.get(), socat.get())) : Optional.empty();
    }

    static Path socketOf(Path sandboxDir) {
        return sandboxDir.resolve("egress.sock");
    }

    /** Starts the proxy's listener for a sandbox (at provision, and again for an adopted one). */
    void attach(String sandboxId, Path sandboxDir) throws DriverException {
        Path socket = socketOf(sandboxDir).toAbsolutePath();
        if (socket.toString().length() > MAX_SOCKET_PATH) {
            throw new DriverException(Kind.INTERNAL, "egress socket path " + socket + " is longer than the " + MAX_SOCKET_PATH
                    + " bytes a unix socket allows (expected a shorter state_dir)");
        }
        try {
            EgressPort.Listener l = port.listenUnix(socket, sandboxId);
            EgressPort.Listener before = listeners.put(sandboxId, l);
            if (before != null) {
                before.close();
            }
        } catch (IOException e) {
            throw new DriverException(Kind.INTERNAL, "cannot start the egress proxy for sandbox '" + sandboxId + "': " + e.getMessage(), e);
        }
    }

    void detach(String sandboxId) {
        EgressPort.Listener l = listeners.remove(sandboxId);
        if (l != null) {
            l.close();
        }
    }

    /** Stops every sandbox's listener (the daemon stops; sandboxes outlive it and get new ones at the next start). */
    void close() {
        listeners.keySet().forEach(this::detach);
    }

    /** bwrap arguments placing the sandbox's socket inside it. */
    List<String> bwrapArgs(Path sandboxDir) {
        return List.of("--dir", "/run/airlock", "--bind", socketOf(sandboxDir).toAbsolutePath().toString(), SOCKET_IN_SANDBOX);
    }

    /**
     * The exec's argv behind a shell that starts the forwarder, waits until it listens (read
     * from /proc/net/tcp, so no probe connection reaches the proxy) and then becomes the command.
     */
    List<String> wrap(List<String> argv) {
        int p = port.port();
        String listening = String.format(" 0100007F:%04X 00000000:0000 0A ", p);
        String script = socat + " TCP-LISTEN:" + p + ",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:" + SOCKET_IN_SANDBOX
                + " </dev/null >/dev/null 2>&1 &\n"
                + "i=0\n"
                + "while ! grep -q '" + listening + "' /proc/net/tcp; do\n"
                + "  i=$((i+1)); if [ $i -gt 1000 ]; then echo 'airlock: the egress forwarder (socat) did not start' >&2; exit 125; fi\n"
                + "  sleep 0.002\n"
                + "done\n"
                + "exec \"$@\"\n";
        List<String> wrapped = new ArrayList<>(List.of("/bin/sh", "-c", script, "airlock-egress"));
        wrapped.addAll(argv);
        return wrapped;
    }

    Map<String, String> environment() {
        return EgressPort.proxyEnvironment("http://127.0.0.1:" + port.port());
    }

    static Optional<Path> findSocat() {
        for (String dir : List.of("/usr/bin", "/bin", "/usr/local/bin")) {
            Path p = Path.of(dir, "socat");
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }
}
