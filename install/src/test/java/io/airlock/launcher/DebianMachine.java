package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A clean Debian system booted with systemd-nspawn: a debootstrap'ed root (cached under the
 * project's .airlock/, the mirror and suite read from this host's apt sources), copied for each
 * test class, booted with systemd as its init. It shares the host's network, so a control plane
 * on the host's loopback is reachable; commands run inside it through nsenter.
 */
final class DebianMachine implements AutoCloseable {
    /** What a clean root gets beyond minbase: an init, and what the package depends on. */
    private static final String INCLUDE = "systemd,systemd-sysv,dbus,bubblewrap,procps";

    private final Path root;
    private final Process nspawn;
    private final Path console;
    private final long leader;

    private DebianMachine(Path root, Process nspawn, Path console, long leader) {
        this.root = root;
        this.nspawn = nspawn;
        this.console = console;
        this.leader = leader;
    }

    /** Boots a copy of the cached root in {@code dir}, with {@code dist} bound read-only at /dist. */
    static DebianMachine boot(Path repo, Path dir, Path dist) throws Exception {
        Prerequisites.requireExecutable("debootstrap", "apt-get install debootstrap");
        Prerequisites.requireExecutable("systemd-nspawn", "apt-get install systemd-container");
        Prerequisites.requireExecutable("nsenter", "apt-get install util-linux");
        Path cached = cachedRoot(repo.resolve(".airlock/debian-root"));
        Path root = dir.resolve("root");
        Command.run(Duration.ofMinutes(5), "cp", "-a", cached.toString(), root.toString());
        Path console = dir.resolve("console.log");
        String name = "airlock-it-" + ProcessHandle.current().pid();
        Process nspawn = new ProcessBuilder("systemd-nspawn", "--quiet", "--directory=" + root, "--boot", "--register=no",
                "--keep-unit", "--machine=" + name, "--bind-ro=" + dist + ":/dist")
                .redirectErrorStream(true).redirectOutput(console.toFile()).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Optional<Long> init = Optional.empty();
        while (init.isEmpty() && nspawn.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            init = containerInit(nspawn);
        }
        if (init.isEmpty()) {
            nspawn.destroyForcibly();
            throw new IllegalStateException("systemd-nspawn did not start an init: " + Files.readString(console));
        }
        DebianMachine m = new DebianMachine(root, nspawn, console, init.get());
        try {
            // Until systemd has opened its socket, systemctl cannot ask; then --wait waits for the boot.
            // 'degraded' is a unit failing in the container (one wanting real hardware, say), not ours.
            Command.Result booted;
            do {
                Thread.sleep(200);
                booted = m.sh("timeout 60 systemctl is-system-running --wait", Duration.ofSeconds(70));
            } while (booted.out().contains("Failed to connect to bus") && System.nanoTime() < deadline);
            assertTrue(booted.out().contains("running") || booted.out().contains("degraded"), "booted: " + booted + m.consoleLog());
            return m;
        } catch (Exception | AssertionError e) {
            m.close();
            throw e;
        }
    }

    /** The container's PID 1 as this host sees it: the first process named systemd below nspawn. */
    private static Optional<Long> containerInit(Process nspawn) {
        return nspawn.descendants().map(ProcessHandle::pid).filter(pid -> {
            try {
                return Files.readString(Path.of("/proc", pid.toString(), "comm")).strip().equals("systemd");
            } catch (IOException e) {
                return false;
            }
        }).min(Long::compare);
    }

    /** The root of the copy, as the host sees it. */
    Path root() {
        return root;
    }

    /** Runs {@code script} with sh as root inside the machine: exit status and stdout with stderr. */
    Command.Result sh(String script) throws Exception {
        return sh(script, Duration.ofMinutes(3));
    }

    Command.Result sh(String script, Duration max) throws Exception {
        return Command.run(max, "nsenter", "--target=" + leader, "--mount", "--uts", "--ipc", "--net", "--pid", "--cgroup", "--root", "--wd",
                "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
                "/bin/sh", "-c", script);
    }

    /** Like {@link #sh(String)}, failing the test with the output unless it exits 0. */
    String ok(String script) throws Exception {
        Command.Result r = sh(script);
        assertTrue(r.exit() == 0, "'" + script + "' exited " + r.exit() + ":\n" + r.out());
        return r.out();
    }

    String consoleLog() {
        try {
            return "\n--- console ---\n" + Files.readString(console);
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() throws Exception {
        // SIGTERM asks nspawn for a clean shutdown of the machine.
        nspawn.destroy();
        if (!nspawn.waitFor(60, TimeUnit.SECONDS)) {
            nspawn.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
        Command.run(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", root.toString());
    }

    /**
     * The cached clean root, made with debootstrap when missing. The mirror and the suite are the
     * ones this host's apt uses (AIRLOCK_DEBIAN_MIRROR and AIRLOCK_DEBIAN_SUITE override them),
     * so no registry's address is written into the project.
     */
    static synchronized Path cachedRoot(Path cache) throws Exception {
        String[] source = aptSource();
        Path root = cache.resolve(source[1] + "-minbase");
        if (Files.exists(root.resolve(".complete"))) {
            return root;
        }
        Files.createDirectories(cache);
        Path partial = cache.resolve(source[1] + "-partial");
        Command.run(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", partial.toString());
        Command.Result r = Command.run(Duration.ofMinutes(15), "debootstrap", "--variant=minbase", "--include=" + INCLUDE, source[1], partial.toString(), source[0]);
        assertTrue(r.exit() == 0, "debootstrap " + source[1] + " from " + source[0] + " failed:\n" + r.out());
        Command.run(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", root.toString());
        Files.move(partial, root);
        Files.writeString(root.resolve(".complete"), String.join(" ", source) + "\n");
        return root;
    }

    /** {mirror, suite}: the first Debian suite (not -updates, -security) in this host's apt sources. */
    private static String[] aptSource() throws IOException {
        String mirror = System.getenv("AIRLOCK_DEBIAN_MIRROR");
        String suite = System.getenv("AIRLOCK_DEBIAN_SUITE");
        if (mirror != null && suite != null) {
            return new String[] {mirror, suite};
        }
        List<String> texts = new ArrayList<>();
        Path list = Path.of("/etc/apt/sources.list");
        if (Files.exists(list)) {
            texts.add(Files.readString(list));
        }
        Path dir = Path.of("/etc/apt/sources.list.d");
        if (Files.isDirectory(dir)) {
            try (var files = Files.list(dir)) {
                for (Path f : files.filter(f -> f.toString().endsWith(".sources") || f.toString().endsWith(".list")).sorted().toList()) {
                    texts.add(Files.readString(f));
                }
            }
        }
        Pattern oneLine = Pattern.compile("(?m)^deb\\s+(?:\\[[^]]*]\\s+)?(\\S+)\\s+([a-z]+)\\s");
        Pattern deb822 = Pattern.compile("(?ms)^Types:[^\\n]*(?<![-\\w])deb(?![-\\w]).*?^URIs:\\s*(\\S+).*?^Suites:\\s*([a-z]+)\\b");
        for (String text : texts) {
            for (Pattern p : List.of(oneLine, deb822)) {
                Matcher m = p.matcher(text);
                if (m.find() && m.group(1).contains("debian")) {
                    return new String[] {mirror != null ? mirror : m.group(1), suite != null ? suite : m.group(2)};
                }
            }
        }
        throw new IllegalStateException("no Debian mirror in this host's apt sources (/etc/apt/sources.list{,.d}); "
                + "set AIRLOCK_DEBIAN_MIRROR and AIRLOCK_DEBIAN_SUITE");
    }
}
