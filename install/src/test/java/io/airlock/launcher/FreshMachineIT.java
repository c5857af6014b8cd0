package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's promise, kept on a fresh machine of this kind: Debian 12 with its own Java 17, a JDK
 * 25 under /usr/lib/jvm, Maven and Node.js, and none of what Airlock needs (no bubblewrap, Docker,
 * busybox-static, runsc, socat, MCP peers). There the README's two commands, run as written, install
 * and start what they need and succeed: {@code ./airlock dev} (and its Docker variant) and
 * {@code ./airlock test} in the mode where a missing prerequisite fails, with every unit test and the
 * integration tests of each prerequisite ({@link #INNER_INTEGRATION_TESTS}; the whole suite runs outside).
 *
 * <p>The machine is a container with every capability the host gives (it runs its own dockerd and
 * bubblewrap sandboxes) made from the install test's cached debootstrap root, with this checkout's
 * files copied in (what git tracks or would track; no build output). Its network reaches what the
 * host's does: the package mirror and registries, through the certificate authorities the host
 * trusts. The host's JDK 25 and Node.js 20 (with npm) are mounted read-only where a machine of this
 * kind has them, and it gets a copy of the host's Maven repository, without Airlock's own
 * artifacts, only so that 500 MB are not downloaded again.
 *
 * <p>Inside, AIRLOCK_IN_TEST_MACHINE is set: the tests that boot machines themselves (this one and
 * the install test) do not nest, and say so in the build's list of skipped tests.
 */
class FreshMachineIT {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static final String JDK = "/usr/lib/jvm/temurin-25-jdk-amd64";
    /** What a machine of this kind has beyond the debootstrap root. */
    static final String MACHINE_PACKAGES = "openjdk-17-jdk-headless maven git ca-certificates";
    /** Node.js 20 with its npm, mounted read-only where this host has it (its own package, not Debian's Node.js 18). */
    static final List<String> NODE = List.of("/usr/bin/node", "/usr/lib/node_modules", "/usr/etc/npmrc");
    /**
     * The integration tests the test command runs inside: one for each prerequisite it installs or starts
     * (bubblewrap and its pids cgroup, socat and curl, Docker with busybox-static and runsc, the restart of the
     * dockerd it started, Prometheus' parser, systemd-analyze, the MCP peers and the SDK from npm). The whole
     * suite ran outside, once; running it again here doubled CI's time (issue 27).
     */
    static final List<String> INNER_INTEGRATION_TESTS = List.of("BubblewrapIsolationIT", "BubblewrapEgressIT", "DockerTemplatesIT",
            "DockerEngineRestartIT", "AdminEndpointIT", "SystemdUnitIT", "McpTunnelIT", "WorkQueueOracleIT");
    /** Bumped when the image's recipe changes: a cached image of an older recipe is not used. */
    static final int IMAGE_REVISION = 3;
    /** The host's environment that names its trusted certificates, which a machine of this kind has too. */
    static final List<String> CA_ENVIRONMENT = List.of("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE");

    @Test
    void theReadmesTwoCommandsSetUpAFreshMachineAndSucceed() throws Exception {
        TestMachines.requireNotNested();
        Prerequisites.requireExecutable("docker", "apt-get install docker.io");
        Prerequisites.require("a Docker Engine", Command.run(Duration.ofSeconds(30), "docker", "info").exit() == 0 ? Optional.empty()
                : Optional.of("'docker info' fails; start dockerd"));
        Prerequisites.require("a JDK 25 at " + JDK, Files.isExecutable(Path.of(JDK, "bin/javac")) ? Optional.empty()
                : Optional.of("the machine of this kind has Temurin 25 there"));
        Command.Result node = Command.run(Duration.ofSeconds(30), "/bin/sh", "-c", "/usr/bin/node --version || true");
        Prerequisites.require("Node.js 20 at /usr/bin/node", node.out().startsWith("v2") ? Optional.empty()
                : Optional.of("the machine of this kind has Node.js 20 there (found: " + node.out().strip() + ")"));
        Path work = Files.createDirectories(Path.of("target/fresh-machine-it").toAbsolutePath());
        Command.run(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", work.resolve("src").toString(), work.resolve("m2").toString());
        String image = freshImage();

        // The checkout as a fresh clone has it (with uncommitted changes: the test is of this tree).
        Path src = Files.createDirectories(work.resolve("src"));
        Command.Result listed = Command.run(Duration.ofMinutes(1), "git", "-C", REPO.toString(), "ls-files", "--cached", "--others", "--exclude-standard");
        assertEquals(0, listed.exit(), listed.out());
        Path list = work.resolve("files");
        Files.write(list, listed.out().lines().filter(f -> Files.isRegularFile(REPO.resolve(f), java.nio.file.LinkOption.NOFOLLOW_LINKS)
                || Files.isSymbolicLink(REPO.resolve(f))).toList());
        Command.Result copy = Command.run(Duration.ofMinutes(5), "bash", "-c",
                "tar -C '" + REPO + "' -T '" + list + "' -cf - | tar -C '" + src + "' -xf -");
        assertEquals(0, copy.exit(), copy.out());
        assertFalse(Files.exists(src.resolve("install/target")), "no build output copied");
        Path m2 = work.resolve("m2");
        Path hostRepository = Path.of(System.getProperty("user.home"), ".m2/repository");
        Command.Result repo = Command.run(Duration.ofMinutes(5), "bash", "-c", "mkdir -p '" + m2 + "' && cp -a '" + hostRepository + "/.' '" + m2
                + "/' && rm -rf '" + m2 + "/io/airlock'");
        assertEquals(0, repo.exit(), repo.out());

        // dev first: it must install bubblewrap itself; then docker (docker.io, dockerd, busybox-static); then the tests.
        String script = "set -e; cd /src; "
                + "for c in bwrap dockerd socat runsc; do ! command -v $c >/dev/null || { echo \"machine not fresh: $c\"; exit 90; }; done; "
                + "echo '== ./airlock dev'; ./airlock dev; "
                + "echo '== ./airlock dev --driver docker'; ./airlock dev --driver docker; "
                + "echo '== ./airlock test (every unit test; the integration tests of each prerequisite)'; ./airlock test -Dit.test="
                + String.join(",", INNER_INTEGRATION_TESTS) + " -Dfailsafe.failIfNoSpecifiedTests=false";
        Path log = work.resolve("run.log");
        String name = "airlock-fresh-" + ProcessHandle.current().pid();
        List<String> caEnvironment = CA_ENVIRONMENT.stream().filter(e -> System.getenv(e) != null)
                .flatMap(e -> java.util.stream.Stream.of("-e", e + "=" + System.getenv(e))).toList();
        // --init: an init as PID 1 that reaps orphans, as a machine has (dockerd started in the background and stopped
        // by the engine-restart test would otherwise stay a zombie, alive to whoever waits for it to end).
        // Every capability the host may give (--privileged asks for all, and where this process lacks one, such as
        // CAP_SYS_RESOURCE, the engine refuses it), no seccomp or AppArmor filter, every device, and the cgroup
        // hierarchy writable: what its own dockerd and bubblewrap need.
        List<String> run = new java.util.ArrayList<>(List.of("docker", "run", "--rm", "--init", "--name", name,
                "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
                "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--security-opt", "systempaths=unconfined",
                "--device-cgroup-rule", "a *:* rwm", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
                "-e", "AIRLOCK_IN_TEST_MACHINE=1", "-e", "LANG=C.UTF-8",
                "-v", src + ":/src", "-v", m2 + ":/root/.m2/repository", "-v", JDK + ":" + JDK + ":ro",
                // dockerd's storage on the host's file system: overlay2 cannot stack on the container's own overlay.
                "-v", "/var/lib/docker"));
        run.addAll(caEnvironment);
        for (String path : NODE) {
            if (Files.exists(Path.of(path))) {
                run.addAll(List.of("-v", path + ":" + path + ":ro"));
            }
        }
        run.addAll(List.of(image, "bash", "-c", script));
        Process p = new ProcessBuilder(run).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        boolean ended;
        try {
            ended = p.waitFor(30, TimeUnit.MINUTES);
        } finally {
            Command.run(Duration.ofMinutes(2), "docker", "rm", "-f", "-v", name);
        }
        String out = Files.readString(log);
        String end = out.substring(Math.max(0, out.length() - 6000));
        assertTrue(ended, "the commands did not end within 30 minutes; " + log + " ends:\n" + end);
        assertEquals(0, p.exitValue(), "exit " + p.exitValue() + "; " + log + " ends:\n" + end);

        // dev installed its driver's packages itself, saying what and why, and both sessions succeeded.
        assertTrue(out.contains("airlock: installing from Debian's packages: bubblewrap ("), out.substring(0, Math.min(out.length(), 4000)));
        assertTrue(out.contains("airlock: installing from Debian's packages: docker.io (") && out.contains("airlock: starting dockerd"), end);
        assertEquals(2, out.lines().filter(l -> l.startsWith("summary: ok:")).count(), "both dev sessions: " + log);
        assertTrue(out.contains("] Airlock distribution"), "the first build shows its modules as it reaches them");
        // The chosen part of the suite ran, with every prerequisite present.
        assertTrue(out.contains("BUILD SUCCESS"), end);
        // Skipped inside: only the tests that boot machines of their own, which do not nest (the outer run has them),
        // and the driver contract's tests of capabilities a driver does not claim (the in-memory driver's), as outside.
        List<String> report = out.lines().dropWhile(l -> !l.startsWith("Skipped tests: ")).takeWhile(l -> !l.startsWith("-----")).toList();
        assertFalse(report.isEmpty(), "the build's list of skipped tests: " + end);
        assertTrue(report.stream().skip(1).allMatch(l -> l.contains("machines do not nest") || l.contains("driver does not claim")),
                String.join("\n", report));
        Command.run(Duration.ofMinutes(5), "rm", "-rf", "--one-file-system", src.toString(), m2.toString());
    }

    /** The fresh machine's image: the cached debootstrap root without bubblewrap, with what a machine of this kind has. */
    private static String freshImage() throws Exception {
        Path root = DebianMachine.cachedRoot(REPO.resolve(".airlock/debian-root"));
        String image = "airlock-it/fresh-debian:" + root.getFileName().toString().replace("-minbase", "") + "-" + IMAGE_REVISION;
        if (Command.run(Duration.ofSeconds(30), "docker", "image", "inspect", image).exit() == 0) {
            return image;
        }
        String base = image + "-base";
        Command.Result imported = Command.run(Duration.ofMinutes(10), "bash", "-c",
                "tar -C '" + root + "' --exclude=./.complete -cf - . | docker import - " + base);
        assertEquals(0, imported.exit(), imported.out());
        String builder = "airlock-fresh-build-" + ProcessHandle.current().pid();
        // The certificate authorities this host adds to Debian's (a machine of this kind reaches the registries
        // through a proxy that presents them), trusted the same way: system store, npm's cafile.
        Command.Result made = Command.run(Duration.ofMinutes(20), "docker", "run", "--name", builder,
                "-v", "/usr/local/share/ca-certificates:/host-ca:ro", base, "bash", "-c",
                "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; "
                        + "apt-get install -y -qq --no-install-recommends " + MACHINE_PACKAGES + " >/dev/null; "
                        + "cp -r /host-ca/. /usr/local/share/ca-certificates/; update-ca-certificates >/dev/null; "
                        + "echo cafile=/etc/ssl/certs/ca-certificates.crt > /etc/npmrc; "
                        + "ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/bin/npm; ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/bin/npx; "
                        + "dpkg --purge bubblewrap; apt-get clean; rm -rf /var/lib/apt/lists/*");
        try {
            assertEquals(0, made.exit(), made.out());
            Command.Result committed = Command.run(Duration.ofMinutes(5), "docker", "commit", builder, image);
            assertEquals(0, committed.exit(), committed.out());
        } finally {
            Command.run(Duration.ofMinutes(2), "docker", "rm", "-f", builder);
            Command.run(Duration.ofMinutes(2), "docker", "rmi", base);
        }
        return image;
    }
}
