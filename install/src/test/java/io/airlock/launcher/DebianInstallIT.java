package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.gateway.AgentRegistry.AgentView;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The distribution as ops meet it, in a clean Debian system booted with systemd (systemd-nspawn):
 * the .deb installs, doctor runs, the shipped unit starts the daemon as the airlock user, it enrols
 * against a control plane on loopback and provisions a bubblewrap sandbox; an upgrade to a rebuilt
 * package keeps the agent and its audit chain; removal keeps state and logs. Then install.sh from
 * the tarball: enrol from a token file, again without a change, upgrade, uninstall.
 * The steps build on each other, in order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DebianInstallIT {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static final Path DIST = Path.of("target/dist").toAbsolutePath();
    static final Duration T = Duration.ofSeconds(60);

    static Path work;
    static ControlPlaneServer cp;
    static DebianMachine machine;
    static String debVersion;
    static String upgradeVersion;
    static String agentId;

    @BeforeAll
    static void boot() throws Exception {
        if (TestMachines.nested()) {
            return; // each test says why it is skipped (notNested)
        }
        work = Files.createDirectories(Path.of("target/debian-install-it").toAbsolutePath());
        Command.run(Duration.ofMinutes(2), "rm", "-rf", "--one-file-system", work.resolve("root").toString());
        // The package the build made, and a rebuild of the same class path one revision later.
        Path deb;
        try (Stream<Path> files = Files.list(DIST)) {
            deb = files.filter(f -> f.getFileName().toString().endsWith("_amd64.deb")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no .deb in " + DIST + ": the package phase makes it"));
        }
        Matcher v = Pattern.compile("airlock_(.+)\\.(\\d+)_amd64\\.deb").matcher(deb.getFileName().toString());
        assertTrue(v.matches(), deb.toString());
        debVersion = v.group(1) + "." + v.group(2);
        String projectVersion = v.group(1).replace("~SNAPSHOT", "-SNAPSHOT");
        long next = Long.parseLong(v.group(2)) + 1;
        upgradeVersion = v.group(1) + "." + next;
        Path rebuilt = work.resolve("dist-next");
        Command.Result r = Command.run(Duration.ofMinutes(5), "bash", "package.sh", "--version", projectVersion,
                "--revision", Long.toString(next), "--out", rebuilt.toString());
        assertEquals(0, r.exit(), r.out());
        Files.createDirectories(work.resolve("dist"));
        for (Path dir : List.of(DIST, rebuilt)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    String name = f.getFileName().toString();
                    Path into = work.resolve("dist").resolve(dir == DIST ? name : "next-" + name);
                    Files.deleteIfExists(into);
                    Files.createLink(into, f);
                }
            }
        }
        cp = ControlPlaneServer.start(ControlPlaneServer.Options.loopback(work.resolve("cp-" + System.nanoTime()), 0));
        machine = DebianMachine.boot(REPO, work, work.resolve("dist"));
        // A docker group as Docker's package would make, to see the airlock user kept out of it.
        machine.ok("groupadd --system docker");
    }

    @BeforeEach
    void notNested() {
        TestMachines.requireNotNested();
    }

    @AfterAll
    static void shutDown() throws Exception {
        if (machine != null) {
            machine.close();
        }
        if (cp != null) {
            cp.close();
        }
    }

    @Test
    @Order(1)
    void thePackageInstallsWithItsUserDirectoriesAndModes() throws Exception {
        machine.ok("dpkg -i /dist/airlock_" + debVersion + "_amd64.deb");
        assertEquals("airlock:airlock 700\nairlock:airlock 700\nroot:airlock 750\nroot:airlock 640\nroot:root 600\n",
                machine.ok("stat -c '%U:%G %a' /var/lib/airlock /var/log/airlock /etc/airlock /etc/airlock/airlock.yaml /etc/airlock/join-token"));
        assertEquals("/usr/sbin/nologin\n", machine.ok("getent passwd airlock | cut -d: -f7"));
        assertFalse(machine.ok("id -nG airlock").contains("docker"), "not in the docker group while docker is not configured");
        assertEquals("/opt/airlock/bin/airlock\n", machine.ok("readlink /usr/bin/airlock"));
    }

    @Test
    @Order(2)
    void theDockerGroupFollowsTheConfiguration() throws Exception {
        machine.ok("sed -i 's/enabled: \\[bubblewrap\\]/enabled: [bubblewrap, docker]/' /etc/airlock/airlock.yaml && dpkg-reconfigure airlock");
        assertTrue(machine.ok("id -nG airlock").contains("docker"), "in the docker group once docker is configured");
        machine.ok("sed -i 's/enabled: \\[bubblewrap, docker\\]/enabled: [bubblewrap]/' /etc/airlock/airlock.yaml && dpkg-reconfigure airlock");
        assertFalse(machine.ok("id -nG airlock").contains("docker"), "out of it again");
    }

    @Test
    @Order(3)
    void doctorRunsFromTheInstalledLayoutWithoutAJavaOnThePath() throws Exception {
        assertEquals("", machine.ok("command -v java || true"), "the clean root has no Java");
        Command.Result doctor = machine.sh("airlock doctor");
        assertEquals(1, doctor.exit(), "not enrolled yet: " + doctor.out());
        assertTrue(doctor.out().contains("OK   config: /etc/airlock/airlock.yaml"), doctor.out());
        assertTrue(doctor.out().contains("FAIL identity"), doctor.out());
        assertTrue(doctor.out().contains("bubblewrap"), doctor.out());
    }

    @Test
    @Order(4)
    void theServiceEnrolsAsTheAirlockUserAndProvisionsABubblewrapSandbox() throws Exception {
        putToken("/etc/airlock/join-token");
        service("systemctl enable --now airlock.service");
        assertEquals("active\n", machine.ok("systemctl is-active airlock.service"), journal());
        agentId = agentIdInMachine();
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, T), "connected" + journal());
        assertEquals("airlock\n", machine.ok("ps -o user= -p $(systemctl show -p MainPID --value airlock.service)"));
        assertEquals("0\n", machine.ok("stat -c %s /etc/airlock/join-token"), "the used token is emptied");
        assertEquals("hello from the installed agent\n", execIn("deb-box", "echo hello from the installed agent"));
        Command.Result doctor = machine.sh("setpriv --reuid=airlock --regid=airlock --init-groups airlock doctor");
        assertEquals(0, doctor.exit(), doctor.out());
        String pid = machine.ok("systemctl show -p MainPID --value airlock.service");
        machine.ok("dpkg-reconfigure airlock");
        assertEquals(pid, machine.ok("systemctl show -p MainPID --value airlock.service"), "a reconfigure that changes nothing restarts nothing");
    }

    @Test
    @Order(5)
    void anUpgradeKeepsTheAgentAndItsAuditChain() throws Exception {
        Instant before = Instant.now();
        service("dpkg -i /dist/next-airlock_" + upgradeVersion + "_amd64.deb");
        assertEquals(upgradeVersion + "\n", machine.ok("dpkg-query -W -f '${Version}\\n' airlock"));
        assertEquals("active\n", machine.ok("systemctl is-active airlock.service"), journal());
        assertEquals(agentId, agentIdInMachine(), "the same identity");
        awaitReconnectedAfter(before);
        assertEquals("still here\n", execIn("deb-box-2", "echo still here"));
        machine.ok("setpriv --reuid=airlock --regid=airlock --init-groups airlock audit verify /var/log/airlock");
    }

    @Test
    @Order(6)
    void removalKeepsStateAndAuditLog() throws Exception {
        machine.ok("mkdir -p /root/v1 && tar -C /root/v1 -xzf /dist/airlock-*-linux-x86_64.tar.gz");
        Command.Result overPackage = machine.sh("/root/v1/airlock-*/install.sh");
        assertEquals(2, overPackage.exit(), overPackage.out());
        assertTrue(overPackage.out().contains("the airlock package is installed"), overPackage.out());

        machine.ok("dpkg -r airlock");
        assertEquals("", machine.ok("ls /opt/airlock 2>/dev/null || true"));
        assertFalse(machine.sh("systemctl is-active airlock.service").out().startsWith("active"));
        machine.ok("test -s /var/lib/airlock/identity/agent.key && ls /var/log/airlock | grep -q .");
        assertEquals(agentId, agentIdInMachine());
        // The next steps start from a system without Airlock's state, as a fresh tarball install would.
        machine.ok("dpkg --purge airlock && rm -rf /var/lib/airlock /var/log/airlock");
    }

    @Test
    @Order(7)
    void theInstallerEnrolsFromATokenFileAndChangesNothingTheSecondTime() throws Exception {
        Command.Result foreign = machine.sh("/root/v1/airlock-*/install.sh --prefix /usr --no-start");
        assertEquals(2, foreign.exit(), foreign.out());
        assertTrue(foreign.out().contains("/usr exists and holds no Airlock"), foreign.out());
        putToken("/root/token");
        String install = "/root/v1/airlock-*/install.sh --token-file /root/token --name tarball-agent --driver bubblewrap";
        String first = service(install);
        assertTrue(first.contains("enrolled") && first.contains("started airlock.service"), first);
        agentId = agentIdInMachine();
        assertTrue(cp.registry().awaitConnected(agentId, h -> true, T), "connected" + journal());
        assertEquals("tarball install\n", execIn("tar-box", "echo tarball install"));

        String files = "find /opt/airlock /etc/airlock /etc/systemd/system/airlock.service /usr/bin/airlock /var/lib/airlock/identity"
                + " -printf '%p %m %u %g %s %T@\\n' | sort; systemctl show -p MainPID --value airlock.service";
        String snapshot = machine.ok(files);
        String second = service(install);
        assertTrue(second.contains("nothing to change"), second);
        assertEquals(snapshot, machine.ok(files), "a second run changes no file and does not restart the agent");
    }

    @Test
    @Order(8)
    void theInstallerUpgradesInPlaceAndUninstallsKeepingStateAndLogs() throws Exception {
        Instant before = Instant.now();
        machine.ok("mkdir -p /root/v2 && tar -C /root/v2 -xzf /dist/next-airlock-*-linux-x86_64.tar.gz");
        String upgrade = service("/root/v2/airlock-*/install.sh");
        assertTrue(upgrade.contains("installed") && upgrade.contains("restarted airlock.service"), upgrade);
        assertTrue(machine.ok("airlock --version").contains("(package " + upgradeVersion + ", "), "the upgraded launcher names its package");
        assertEquals(agentId, agentIdInMachine());
        awaitReconnectedAfter(before);
        assertEquals("upgraded\n", execIn("tar-box-2", "echo upgraded"));
        machine.ok("setpriv --reuid=airlock --regid=airlock --init-groups airlock audit verify /var/log/airlock");

        String removed = machine.ok("/opt/airlock/install.sh --uninstall");
        assertTrue(removed.contains("kept /var/lib/airlock"), removed);
        assertEquals("", machine.ok("ls -d /opt/airlock /etc/airlock /etc/systemd/system/airlock.service /usr/bin/airlock 2>/dev/null || true"));
        machine.ok("test -s /var/lib/airlock/identity/agent.key && ls /var/log/airlock | grep -q .");
    }

    /** A fresh join token, written into the machine's file system as root's alone. */
    private static void putToken(String pathInMachine) throws Exception {
        Path file = machine.root().resolve(pathInMachine.substring(1));
        Files.writeString(file, cp.createJoinToken(Duration.ofMinutes(10)).encode());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    private static String agentIdInMachine() throws Exception {
        return machine.ok("sed -n 's/^agent_id=//p' /var/lib/airlock/identity/agent.properties").strip();
    }

    private static void awaitReconnectedAfter(Instant before) throws Exception {
        long deadline = System.nanoTime() + T.toNanos();
        while (true) {
            AgentView view = cp.registry().agent(agentId).orElseThrow();
            if (view.connected() && view.connectedAt().isAfter(before)) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "the upgraded agent reconnects" + journal());
            Thread.sleep(100);
        }
    }

    private static String execIn(String sandbox, String script) throws Exception {
        cp.agents().provision(agentId, ProvisionSandbox.newBuilder().setSandboxId(sandbox).setDriver("bubblewrap").build(), T);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ExecResult r = cp.agents().exec(agentId, StartExec.newBuilder().setSandboxId(sandbox).addAllArgv(List.of("sh", "-c", script)).build(),
                null, c -> out.writeBytes(c.getData().toByteArray()), T);
        assertEquals(0, r.getExitCode(), out.toString());
        cp.agents().destroy(agentId, sandbox, T);
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Like machine.ok, with the service's journal in the failure. */
    private static String service(String script) throws Exception {
        Command.Result r = machine.sh(script);
        assertEquals(0, r.exit(), "'" + script + "':\n" + r.out() + journal());
        return r.out();
    }

    private static String journal() {
        try {
            return "\n--- journal ---\n" + machine.sh("journalctl -u airlock.service --no-pager -n 60").out();
        } catch (Exception e) {
            return "";
        }
    }
}
