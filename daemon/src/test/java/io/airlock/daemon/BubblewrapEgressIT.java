package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Egress from a bubblewrap sandbox: loopback only inside, the proxy reached over its unix socket. */
class BubblewrapEgressIT extends SandboxEgressContract {
    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        Prerequisites.require("socat", Files.isExecutable(Path.of("/usr/bin/socat")) ? java.util.Optional.empty()
                : java.util.Optional.of("socat is missing (apt-get install socat)"));
        Prerequisites.require("curl", Files.isExecutable(Path.of("/usr/bin/curl")) ? java.util.Optional.empty()
                : java.util.Optional.of("curl is missing (apt-get install curl)"));
        startServers();
        fx = new AgentFixture(dir);
        fx.extraConfig = egressConfig("") + "drivers: {enabled: [bubblewrap]}\n";
        fx.enrollAndStart();
        provision("bubblewrap", List.of());
    }

    @Override
    String driver() {
        return "bubblewrap";
    }

    @Test
    void aDirectConnectionBypassingTheProxyCannotConnectAndThereIsNoResolverInside() {
        int before = origins.requests.get();
        String url = "http://127.0.0.1:" + origins.httpPort() + "/";
        Out viaProxy = curl("--noproxy '' " + url); // NO_PROXY names loopback: inside, that is the sandbox's own
        assertTrue(viaProxy.stdout().contains("hello over http"), "the server is up and reachable through the proxy: " + viaProxy);
        Out direct = sh("curl -sS --noproxy '*' --max-time 5 " + url);
        assertEquals(7, direct.exit(), "curl: could not connect: " + direct);
        assertEquals(before + 1, origins.requests.get(), "only the proxied request arrived");
        Out routes = sh("tail -n +2 /proc/net/route; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        assertEquals("lo\n", routes.stdout(), "no route, and loopback the only interface: " + routes);
        Out lookup = sh("getent hosts allowed.test");
        assertNotEquals(0, lookup.exit(), "no resolver inside: " + lookup);
    }
}
