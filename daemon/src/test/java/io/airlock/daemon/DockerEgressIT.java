package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import io.airlock.driver.docker.BusyboxImage;
import io.airlock.driver.docker.DockerDriverProvider;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Egress from a Docker sandbox on its internal network. The "outside" is a container this test
 * starts on an ordinary bridge network: the proxy reaches it, the sandbox directly does not.
 */
class DockerEgressIT extends SandboxEgressContract {
    static final String IMAGE = "airlock/egress-tools:1";
    static final String OUTSIDE = "airlock-egress-it-" + UUID.randomUUID().toString().substring(0, 8);
    @TempDir
    static Path dir;
    static String outsideIp;

    @BeforeAll
    static void start() throws Exception {
        Prerequisites.require("docker", new DockerDriverProvider().unavailableReason());
        String busybox = BusyboxImage.ensure(Path.of("/var/run/docker.sock"));
        // The busybox sandbox image plus the host's curl and socat and the libraries they load.
        run("docker image inspect " + IMAGE + " >/dev/null 2>&1 && exit 0; set -e; d=$(mktemp -d); c=$(docker create " + busybox + " true); "
                + "docker export $c | tar -x -C $d; docker rm $c >/dev/null; "
                + "for f in /usr/bin/curl /usr/bin/socat $(ldd /usr/bin/curl /usr/bin/socat | awk '$2==\"=>\"{print $3} $1 ~ /^\\// && NF==2 {print $1}'); do cp -L --parents $f $d; done; "
                + "tar -C $d -c . | docker import - " + IMAGE + " >/dev/null; rm -rf $d");
        run("docker network create " + OUTSIDE + " >/dev/null && docker run -d --rm --network " + OUTSIDE + " --name " + OUTSIDE + " " + IMAGE
                + " sh -c '"
                + "mkdir -p /tmp/www && echo outside > /tmp/www/index.html && (socat -u UDP-RECV:53 OPEN:/tmp/udp.txt,creat,append &) && "
                + "exec httpd -f -p 8080 -h /tmp/www' >/dev/null");
        outsideIp = run("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + OUTSIDE).strip();
        startServers();
        fx = new AgentFixture(dir);
        fx.extraConfig = egressConfig("      - {cidr: \"" + outsideIp + "/32\", ports: [8080]}\n")
                + "drivers: {default: docker, enabled: [docker], options: {docker: {image: \"" + IMAGE + "\"}}}\n";
        fx.enrollAndStart();
        provision("docker", List.of(cidr(outsideIp + "/32", 8080)));
    }

    @AfterAll
    static void removeOutside() throws Exception {
        String agent = fx == null ? "none" : fx.agentId;
        run("docker rm -f " + OUTSIDE + " >/dev/null 2>&1; docker network rm " + OUTSIDE + " >/dev/null 2>&1; "
                + "docker ps -aq --filter label=io.airlock.agent=" + agent + " | xargs -r docker rm -f >/dev/null; "
                + "docker volume ls -q --filter label=io.airlock.agent=" + agent + " | xargs -r docker volume rm >/dev/null; "
                + "docker network ls -q --filter label=io.airlock.agent=" + agent + " | xargs -r docker network rm >/dev/null; true");
    }

    static String run(String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), script + ": " + out);
        return out;
    }

    @Override
    String driver() {
        return "docker";
    }

    @Test
    void aDirectConnectionBypassingTheProxyCannotConnectAndThereIsNoResolverInside() throws Exception {
        String url = "http://" + outsideIp + ":8080/";
        Out viaProxy = curl(url);
        assertTrue(viaProxy.stdout().contains("outside"), "the outside server is up and reachable through the proxy: " + viaProxy);
        Out direct = sh("curl -sS --noproxy '*' --max-time 3 " + url);
        // The internal network's default route leads to the host, which forwards nothing off the network.
        assertTrue(direct.exit() == 7 || direct.exit() == 28, "curl: could not connect: " + direct);
        assertTrue(!direct.stdout().contains("outside"));
        Out v6 = sh("ip -6 addr show scope global");
        assertTrue(v6.stdout().lines().noneMatch(l -> l.contains("inet6")), "no IPv6 address: " + v6);
        Out lookup = sh("timeout 3 nslookup allowed.test");
        assertNotEquals(0, lookup.exit(), "no resolver for outside names inside: " + lookup);

        // UDP: a DNS query sent straight at the outside container's port 53 never arrives; one from the host does.
        sh("timeout 3 nslookup allowed.test " + outsideIp);
        assertEquals("", run("docker exec " + OUTSIDE + " sh -c 'cat /tmp/udp.txt 2>/dev/null; true'"));
        try (DatagramSocket s = new DatagramSocket()) {
            byte[] probe = "probe".getBytes(StandardCharsets.US_ASCII);
            s.send(new DatagramPacket(probe, probe.length, InetAddress.getByName(outsideIp), 53));
        }
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        String got;
        while (!(got = run("docker exec " + OUTSIDE + " sh -c 'cat /tmp/udp.txt 2>/dev/null; true'")).contains("probe") && System.nanoTime() < end) {
            Thread.sleep(100);
        }
        assertEquals("probe", got, "the UDP listener works: only the host's datagram arrived");
    }
}
