package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.core.audit.AuditVerifier;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.EgressRule;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.InitialFile;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Egress from inside a real sandbox, driven from the control plane: every connection goes
 * through the daemon's proxy, which a test DNS server and test origins on this machine answer.
 * Subclasses start the daemon with one driver and say how a direct connection is attempted.
 */
abstract class SandboxEgressContract {
    static final Duration T = Duration.ofSeconds(60);
    static final ObjectMapper JSON = new ObjectMapper();
    static AgentFixture fx;
    static AgentClient agents;
    static TestDnsServer dns;
    static TestOrigins origins;
    static String box;
    /** Rules the driver's test adds to every allowlist it gives the sandbox. */
    static final List<EgressRule> driverRules = new ArrayList<>();

    /** The operator's bound: every .test name, the origins on loopback, plus what the driver's test adds. */
    static String egressConfig(String extraAllow) {
        return """
                policy:
                  egress:
                    allow:
                      - {domain: "*.test"}
                      - {cidr: "127.0.0.1/32", ports: [%d, %d]}
                %s    resolver: ["%s"]
                    connect_timeout: 3s
                """.formatted(origins.httpPort(), origins.httpsPort(), extraAllow, dns.address());
    }

    static void startServers() throws Exception {
        dns = new TestDnsServer().answer("allowed.test", "127.0.0.1").answer("secure.test", "127.0.0.1")
                .answer("rebind.test", "169.254.169.254").answer("later.test", "127.0.0.1");
        origins = new TestOrigins("127.0.0.1");
    }

    static EgressRule domain(String name, int... ports) {
        EgressRule.Builder b = EgressRule.newBuilder().setDomain(name);
        for (int p : ports) {
            b.addPorts(p);
        }
        return b.build();
    }

    static EgressRule cidr(String range, int... ports) {
        EgressRule.Builder b = EgressRule.newBuilder().setCidr(range);
        for (int p : ports) {
            b.addPorts(p);
        }
        return b.build();
    }

    /** The sandbox's own allowlist: narrower than the operator's. */
    static List<EgressRule> sandboxRules() {
        List<EgressRule> rules = new ArrayList<>(List.of(domain("allowed.test", origins.httpPort()), domain("secure.test", origins.httpsPort()),
                domain("rebind.test"), cidr("127.0.0.1/32", origins.httpPort(), origins.httpsPort())));
        rules.addAll(driverRules);
        return rules;
    }

    static void provision(String driver, List<EgressRule> extra) {
        agents = fx.cp.agents();
        driverRules.addAll(extra);
        List<EgressRule> rules = sandboxRules();
        box = agents.provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("egress-box").setDriver(driver)
                .setEgress(EgressPolicy.newBuilder().addAllRules(rules))
                .addFiles(InitialFile.newBuilder().setPath("ca.pem").setContent(ByteString.copyFromUtf8(origins.caPem))).build(), T)
                .getSandboxId();
    }

    @AfterAll
    static void stopAll() {
        if (fx != null) {
            fx.close();
        }
        if (origins != null) {
            origins.close();
        }
        if (dns != null) {
            dns.close();
        }
    }

    record Out(int exit, String stdout, String stderr) {}

    static Out sh(String script) {
        List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = agents.exec(fx.agentId, StartExec.newBuilder().setSandboxId(box).addAllArgv(List.of("sh", "-c", script)).build(), null,
                chunks::add, T);
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        for (OutputChunk c : chunks) {
            (c.getStream() == OutputStream.STDOUT ? out : err).append(c.getData().toStringUtf8());
        }
        return new Out(r.getExitCode(), out.toString(), err.toString());
    }

    /** curl through the proxy that HTTP_PROXY / HTTPS_PROXY name inside the sandbox. */
    static Out curl(String args) {
        return sh("curl -sS -i --max-time 15 --cacert /workspace/ca.pem " + args);
    }

    @Test
    void allowedNamesWorkOverHttpAndOverHttpsThroughConnect() {
        Out http = curl("http://allowed.test:" + origins.httpPort() + "/plain");
        assertTrue(http.stdout().contains("hello over http /plain"), http.toString());
        Out https = curl("https://secure.test:" + origins.httpsPort() + "/tls");
        assertEquals(0, https.exit(), https.toString());
        assertTrue(https.stdout().contains("hello over https /tls"), https.toString());
    }

    @Test
    void deniedNamesIpLiteralsAndRebindingAreRefusedWithTheProxysReason() {
        int before = origins.requests.get();
        Out denied = curl("http://denied.test:" + origins.httpPort() + "/");
        assertTrue(denied.stdout().startsWith("HTTP/1.1 403"), denied.toString());
        assertTrue(denied.stdout().contains("airlock egress proxy: no egress rule allows denied.test:" + origins.httpPort()), denied.toString());

        Out tls = curl("https://denied.test/");
        assertNotEquals(0, tls.exit());
        assertTrue(tls.stdout().contains("HTTP/1.1 403") && tls.stdout().contains("no egress rule allows denied.test:443"), tls.toString());

        Out literal = curl("http://10.9.8.7/");
        assertTrue(literal.stdout().contains("10.9.8.7, a private ("), literal.toString());
        Out metadata = curl("http://169.254.169.254/latest/meta-data/");
        assertTrue(metadata.stdout().contains("169.254.169.254, a link-local ("), metadata.toString());
        Out decimal = curl("http://167772161/");
        assertTrue(decimal.stdout().contains("10.0.0.1, a private ("), "10.0.0.1 spelled as a decimal: " + decimal);
        Out loopback = curl("--noproxy '' http://127.0.0.1:1/");
        assertTrue(loopback.stdout().contains("127.0.0.1, a loopback ("), "the host's loopback, on a port no rule names: " + loopback);

        Out rebind = curl("http://rebind.test:" + origins.httpPort() + "/");
        assertTrue(rebind.stdout().contains("rebind.test: the name resolved to 169.254.169.254, a link-local"), rebind.toString());
        assertTrue(rebind.stdout().contains("error=destination_ip_prohibited"), rebind.toString());
        assertEquals(before, origins.requests.get(), "no refused request reached a server");
    }

    @Test
    void aLiveUpdateAppliesToNewConnectionsAndAWideningRequestIsRefusedAndAudited() throws Exception {
        String url = "http://later.test:" + origins.httpPort() + "/later";
        assertTrue(curl(url).stdout().startsWith("HTTP/1.1 403"));
        List<EgressRule> rules = sandboxRules();
        rules.add(domain("later.test", origins.httpPort()));
        var info = agents.updateEgress(fx.agentId, box, EgressPolicy.newBuilder().addAllRules(rules).build(), T);
        assertTrue(info.getEgress().getRulesList().contains(domain("later.test", origins.httpPort())), info.toString());
        assertTrue(curl(url).stdout().contains("hello over http /later"));

        CommandFailedException wider = assertThrows(CommandFailedException.class, () -> agents.updateEgress(fx.agentId, box,
                EgressPolicy.newBuilder().addAllRules(rules).addRules(domain("*.example.com", 443)).build(), T));
        assertEquals(ErrorCode.POLICY_DENIED, wider.error().getCode());
        assertTrue(wider.getMessage().contains("egress rule *.example.com:[443] is wider than this agent's policy.egress allows"), wider.getMessage());
        CommandFailedException everything = assertThrows(CommandFailedException.class, () -> agents.updateEgress(fx.agentId, box,
                EgressPolicy.newBuilder().addRules(cidr("0.0.0.0/0")).build(), T));
        assertEquals(ErrorCode.POLICY_DENIED, everything.error().getCode());
        assertTrue(curl(url).stdout().contains("hello over http /later"), "a refused update leaves the allowlist as it was");

        List<JsonNode> denials = audit("policy.denied");
        assertTrue(denials.stream().anyMatch(d -> d.path("rule").asText().equals("policy.egress")
                && d.path("message").asText().contains("*.example.com")), denials.toString());
        // Issue 17.6: the update's records name the sandbox and the rules asked for, its result the sandbox.
        JsonNode update = audit("command").stream().filter(c -> c.path("action").asText().equals("update_egress")).findFirst().orElseThrow();
        assertEquals(box, update.path("sandbox_id").asText(), update.toString());
        assertTrue(update.path("egress").toString().contains("later.test:[" + origins.httpPort() + "]"), update.toString());
        assertTrue(audit("command.result").stream().filter(r -> r.path("action").asText().equals("update_egress"))
                .allMatch(r -> r.path("sandbox_id").asText().equals(box)), audit("command.result").toString());
        JsonNode provision = audit("command").stream().filter(c -> c.path("action").asText().equals("provision")
                && c.path("sandbox_id").asText().equals(box)).findFirst().orElseThrow();
        assertTrue(provision.path("egress").isArray() && provision.path("egress").size() > 0, "the provision's allowlist: " + provision);
    }

    @Test
    void aProvisionWideningThePolicyIsRefusedAndCreatesNothing() throws Exception {
        CommandFailedException e = assertThrows(CommandFailedException.class, () -> agents.provision(fx.agentId, ProvisionSandbox.newBuilder()
                .setSandboxId("too-wide").setDriver(driver()).setEgress(EgressPolicy.newBuilder().addRules(domain("pypi.org", 443))).build(), T));
        assertEquals(ErrorCode.POLICY_DENIED, e.error().getCode());
        assertTrue(e.getMessage().contains("egress rule pypi.org:[443] is wider"), e.getMessage());
        assertFalse(agents.list(fx.agentId, T).getSandboxesList().stream().anyMatch(s -> s.getSandboxId().equals("too-wide")));
    }

    @Test
    void everyConnectionIsAnAuditRecordAndTheLogVerifies() throws Exception {
        curl("https://secure.test:" + origins.httpsPort() + "/audited");
        curl("http://nowhere.test:" + origins.httpPort() + "/");
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        List<JsonNode> egress;
        do {
            egress = audit("egress");
        } while (egress.stream().noneMatch(r -> r.path("host").asText().equals("secure.test")
                && r.path("method").asText().equals("CONNECT")) && System.nanoTime() < end && sleep());
        JsonNode tunnel = egress.stream().filter(r -> r.path("host").asText().equals("secure.test")
                && r.path("method").asText().equals("CONNECT")).findFirst().orElseThrow(() -> new AssertionError("no CONNECT record"));
        JsonNode f = tunnel;
        assertEquals(box, f.path("sandbox_id").asText());
        assertEquals(origins.httpsPort(), f.path("port").asInt());
        assertEquals("127.0.0.1", f.path("address").asText());
        assertEquals("allow", f.path("decision").asText());
        assertEquals("secure.test:[" + origins.httpsPort() + "]", f.path("rule").asText());
        assertTrue(f.path("bytes_up").asLong() > 100 && f.path("bytes_down").asLong() > 100, f.toString());
        assertTrue(f.has("duration_ms"));
        JsonNode refused = egress.stream().filter(r -> r.path("host").asText().equals("nowhere.test")).findFirst().orElseThrow();
        assertEquals("deny", refused.path("decision").asText());
        assertTrue(refused.path("reason").asText().contains("no egress rule allows nowhere.test"));
        assertTrue(AuditVerifier.verify(fx.root.resolve("agent/audit")).ok());
    }

    abstract String driver();

    private static boolean sleep() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    static List<JsonNode> audit(String type) throws Exception {
        List<JsonNode> records = new ArrayList<>();
        try (var files = Files.list(fx.root.resolve("agent/audit"))) {
            for (Path file : files.filter(p -> p.getFileName().toString().endsWith(".log")).sorted().toList()) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    JsonNode n = JSON.readTree(line);
                    if (n.path("type").asText().equals(type)) {
                        records.add(n);
                    }
                }
            }
        }
        return records;
    }
}
