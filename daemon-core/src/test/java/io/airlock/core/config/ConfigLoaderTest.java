package io.airlock.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.config.ConfigException;
import io.airlock.core.config.ConfigLoader;
import io.airlock.core.config.DaemonConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
    @Test
    void anEmptyFileGivesDocumentedDefaults() throws Exception {
        DaemonConfig c = ConfigLoader.parse("", "empty.yaml");
        assertEquals(Duration.ofSeconds(10), c.controlPlane().pingInterval());
        assertEquals(32, c.policy().maxSandboxes());
        assertEquals(16L << 20, c.policy().exec().defaultOutputCap().bytes());
    }

    @Test
    void valuesParseWithUnits() throws Exception {
        DaemonConfig c = ConfigLoader.parse("""
                control_plane: {ping_interval: 2s, ping_timeout: 500ms}
                policy: {exec: {default_output_cap: 1MiB}, limits: {max_memory: 2GiB}}
                drivers: {default: bubblewrap, enabled: [bubblewrap]}
                """, "c.yaml");
        assertEquals("bubblewrap", c.drivers().defaultDriver());
        assertEquals(Duration.ofMillis(500), c.controlPlane().pingTimeout());
        assertEquals(1L << 20, c.policy().exec().defaultOutputCap().bytes());
        assertEquals(2L << 30, c.policy().limits().maxMemory().bytes());
    }

    @Test
    void theAdminEndpointStaysOnLoopbackAndAuditSettingsAreChecked() throws Exception {
        DaemonConfig c = ConfigLoader.parse("audit: {max_file_bytes: 1MiB, durability: group, group_interval: 50ms}\n", "c.yaml");
        assertEquals("127.0.0.1:9464", c.admin().listen());
        assertEquals(1L << 20, c.audit().maxFileBytes().bytes());
        assertEquals(java.nio.file.Path.of("/var/lib/airlock/audit"), c.auditDir());
        ConfigException open = assertThrows(ConfigException.class, () -> ConfigLoader.parse("admin: {listen: \"0.0.0.0:9464\"}\n", "c.yaml"));
        assertTrue(open.getMessage().contains("admin.listen") && open.getMessage().contains("loopback"), open.getMessage());
        ConfigException durability = assertThrows(ConfigException.class, () -> ConfigLoader.parse("audit: {durability: sometimes}\n", "c.yaml"));
        assertTrue(durability.getMessage().contains("audit.durability") && durability.getMessage().contains("each or group"),
                durability.getMessage());
    }

    @Test
    void environmentsParseWithDefaultsAndAMistakeIsNamed() throws Exception {
        DaemonConfig c = ConfigLoader.parse("""
                environments:
                  - api_url: https://api.example.com
                    environment_id: env_1
                    key_file: /etc/airlock/env.key
                    tools: {deny: [bash], approve: [write], approval_timeout: 30s}
                """, "c.yaml");
        var env = c.environments().get(0);
        assertEquals(4, env.concurrency());
        assertEquals(Duration.ofSeconds(60), env.leaseTtl());
        assertEquals(Duration.ofSeconds(60), env.idleStop());
        assertEquals(java.util.List.of("bash"), env.tools().deny());
        assertEquals(Duration.ofSeconds(30), env.tools().approvalTimeout());
        assertTrue(env.workerId().startsWith("airlock-"));
        String plain = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "environments: [{api_url: \"http://api.example.com\", environment_id: e, key_file: /k}]\n", "c.yaml")).getMessage();
        assertTrue(plain.contains("plain http only to a loopback address"), plain);
        String tool = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "environments: [{api_url: \"https://a.example\", environment_id: e, key_file: /k, tools: {deny: [web_search]}}]\n",
                "c.yaml")).getMessage();
        assertTrue(tool.contains("environments[].tools.deny: 'web_search' (expected one of [bash, edit, glob, grep, read, write])"), tool);
        String key = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "environments: [{api_url: \"https://a.example\", environment_id: e}]\n", "c.yaml")).getMessage();
        assertTrue(key.contains("environments[].key_file: missing"), key);
    }

    @Test
    void egressRulesParseAndABadOneIsNamed() throws Exception {
        DaemonConfig c = ConfigLoader.parse("""
                policy:
                  egress:
                    allow: [{domain: "*.pypi.org", ports: [443]}, {cidr: "10.20.0.0/16"}]
                    resolver: ["127.0.0.53:53"]
                """, "c.yaml");
        assertTrue(c.policy().egress().enabled());
        assertEquals("[*.pypi.org:[443], 10.20.0.0/16:*]", c.policy().egress().rules().toString());
        assertEquals(3128, c.policy().egress().proxyPort());
        assertFalse(DaemonConfig.defaults().policy().egress().enabled(), "egress is off unless the operator allows something");
        ConfigException both = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "policy: {egress: {allow: [{domain: a.org, cidr: 10.0.0.0/8}]}}\n", "c.yaml"));
        assertTrue(both.getMessage().startsWith("c.yaml: policy.egress.allow[0]: an egress rule names a domain or a CIDR range, exactly one"),
                both.getMessage());
        ConfigException resolver = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "policy: {egress: {resolver: [dns.example]}}\n", "c.yaml"));
        assertTrue(resolver.getMessage().contains("resolver: 'dns.example' (expected an IP address and port"), resolver.getMessage());
    }

    @Test
    void mcpServersParseAndABadEntryIsNamed() throws Exception {
        DaemonConfig c = ConfigLoader.parse("""
                mcp:
                  servers:
                    wiki:
                      url: "http://10.1.2.3:8080/mcp"
                      headers: {Authorization: {file: /run/credentials/wiki, prefix: "Bearer "}}
                      tools: {allow: [search], deny: [delete]}
                      max_request_bytes: 1MiB
                    files: {command: [node, files.js], idle_timeout: 10m, max_sessions: 4}
                """, "c.yaml");
        var specs = c.mcp().specs();
        assertEquals(2, specs.size());
        assertEquals(1L << 20, specs.get(0).limits().maxRequestBytes());
        assertEquals(java.util.Set.of("delete"), specs.get(0).policy().denyTools());
        assertEquals(4, specs.get(1).limits().maxSessions());
        assertEquals("secret file /run/credentials/wiki", specs.get(0).http().secretHeaders().get("Authorization").toString());
        assertFalse(ConfigLoader.parse("", "c.yaml").mcp().enabled(), "no servers: the tunnel is off");
        ConfigException both = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {x: {url: \"http://127.0.0.1/\", command: [a]}}}\n", "c.yaml"));
        assertTrue(both.getMessage().contains("mcp.servers.x: set url (Streamable HTTP) or command (stdio), exactly one"), both.getMessage());
        ConfigException name = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {Bad_Name: {command: [a]}}}\n", "c.yaml"));
        assertTrue(name.getMessage().contains("'Bad_Name' (expected a name of 1-63 characters of [a-z0-9-])"), name.getMessage());
        ConfigException url = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {x: {url: \"ftp://h/\"}}}\n", "c.yaml"));
        assertTrue(url.getMessage().contains("mcp.servers.x.url: 'ftp://h/' (expected an http:// or https:// URL"), url.getMessage());
        ConfigException network = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {allowed_networks: [\"10.0.0.0/33\"]}\n", "c.yaml"));
        assertTrue(network.getMessage().contains("mcp.allowed_networks: '10.0.0.0/33'"), network.getMessage());
    }

    @Test
    void theGatewayIsOffByDefaultOnLoopbackUnlessToldAndOffLoopbackOnlyWithTls() throws Exception {
        assertEquals(null, ConfigLoader.parse("mcp: {servers: {x: {command: [a]}}}\n", "c.yaml").mcp().gateway());
        var g = ConfigLoader.parse("mcp: {servers: {x: {command: [a]}}, gateway: {tunnel_domain: MCP.Example.com}}\n", "c.yaml").mcp().gateway();
        assertEquals("127.0.0.1:8443", g.listen());
        assertEquals("mcp.example.com", g.tunnelDomain());
        assertTrue(g.address().getAddress().isLoopbackAddress());
        ConfigException open = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {x: {command: [a]}}, gateway: {listen: \"0.0.0.0:8443\", tunnel_domain: d.test}}\n", "c.yaml"));
        assertTrue(open.getMessage().contains("mcp.gateway.listen: 0.0.0.0:8443 is not loopback; set mcp.gateway.tls"), open.getMessage());
        ConfigException domain = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {x: {command: [a]}}, gateway: {}}\n", "c.yaml"));
        assertTrue(domain.getMessage().contains("mcp.gateway.tunnel_domain: missing"), domain.getMessage());
        ConfigException listen = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {servers: {x: {command: [a]}}, gateway: {listen: \"8443\", tunnel_domain: d.test}}\n", "c.yaml"));
        assertTrue(listen.getMessage().contains("mcp.gateway.listen: '8443' (expected HOST:PORT"), listen.getMessage());
        ConfigException none = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "mcp: {gateway: {tunnel_domain: d.test}}\n", "c.yaml"));
        assertTrue(none.getMessage().contains("mcp.gateway: no mcp.servers to serve"), none.getMessage());
    }

    @Test
    void anUnknownFieldIsNamedWithTheFieldsExpected() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("control_plane:\n  ping_intervall: 2s\n", "c.yaml"));
        assertTrue(e.getMessage().startsWith("c.yaml: control_plane.ping_intervall: unknown field"), e.getMessage());
        assertTrue(e.getMessage().contains("ping_interval"), e.getMessage());
    }

    @Test
    void aBadDurationNamesTheFieldAndTheExpectedForm() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("control_plane:\n  ping_timeout: soon\n", "c.yaml"));
        assertTrue(e.getMessage().contains("control_plane.ping_timeout"), e.getMessage());
        assertTrue(e.getMessage().contains("expected: a number and a unit"), e.getMessage());
    }

    @Test
    void anOutOfRangeValueNamesTheRule() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("control_plane:\n  backoff: {jitter: 3}\n", "c.yaml"));
        assertTrue(e.getMessage().contains("jitter: 3.0 (expected: >= 0.0 and <= 1.0)"), e.getMessage());
    }

    @Test
    void invalidYamlSaysSo() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("control_plane: [unclosed\n", "c.yaml"));
        assertTrue(e.getMessage().startsWith("c.yaml: "), e.getMessage());
    }

    @Test
    void logSettingsAreChecked() throws Exception {
        DaemonConfig c = ConfigLoader.parse("", "c.yaml");
        assertEquals("info", c.log().level());
        assertEquals("json", c.log().format());
        assertEquals("debug", ConfigLoader.parse("log: {level: DEBUG, format: text}\n", "c.yaml").log().level());
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("log: {level: verbose}\n", "c.yaml"));
        assertTrue(e.getMessage().contains("log.level: 'verbose' (expected one of trace, debug, info, warn, error)"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("log: {format: xml}\n", "c.yaml"));
        assertTrue(e.getMessage().contains("log.format: 'xml' (expected: json or text)"), e.getMessage());
    }

    @Test
    void aReloadAppliesLogDrainAndPolicyAndNamesWhatWaitsForARestart() throws Exception {
        DaemonConfig running = ConfigLoader.parse("""
                control_plane: {address: "cp:7443"}
                policy: {max_sandboxes: 4, max_concurrent_commands: 8, idle_timeout: 1h}
                """, "old.yaml");
        DaemonConfig next = ConfigLoader.parse("""
                control_plane: {address: "other:7443"}
                policy: {max_sandboxes: 1, max_concurrent_commands: 2, idle_timeout: 1h}
                drain: {grace_period: 5s}
                log: {level: debug}
                """, "new.yaml");
        io.airlock.core.config.ConfigReload.Result r = io.airlock.core.config.ConfigReload.merge(running, next);
        assertEquals(java.util.List.of("policy", "drain", "log"), r.applied());
        assertEquals(java.util.List.of("control_plane", "policy.max_concurrent_commands"), r.restartNeeded());
        assertEquals(1, r.config().policy().maxSandboxes());
        assertEquals(8, r.config().policy().maxConcurrentCommands(), "sized at start: keeps its running value");
        assertEquals("cp:7443", r.config().controlPlane().address());
        assertEquals(Duration.ofSeconds(5), r.config().drain().gracePeriod());
        assertEquals("debug", r.config().log().level());
        assertEquals(java.util.List.of(), io.airlock.core.config.ConfigReload.merge(running, running).applied());
    }

    /** Issue 17.11: Jackson's own wording never reaches the operator; the field and what it expects do. */
    @Test
    void aValueOfTheWrongKindNamesTheFieldAndWhatItExpects() {
        ConfigException number = assertThrows(ConfigException.class, () -> ConfigLoader.parse("policy:\n  max_sandboxes: many\n", "c.yaml"));
        assertEquals("c.yaml: policy.max_sandboxes: 'many' (expected: a whole number)", number.getMessage());
        ConfigException list = assertThrows(ConfigException.class, () -> ConfigLoader.parse("drivers:\n  enabled: bubblewrap\n", "c.yaml"));
        assertEquals("c.yaml: drivers.enabled: 'bubblewrap' (expected: a list, e.g. [a, b])", list.getMessage());
        ConfigException flag = assertThrows(ConfigException.class, () -> ConfigLoader.parse("mcp:\n  servers: [a]\n", "c.yaml"));
        assertTrue(flag.getMessage().startsWith("c.yaml: mcp.servers: ") && flag.getMessage().contains("(expected: a map"), flag.getMessage());
        for (ConfigException e : List.of(number, list, flag)) {
            assertFalse(e.getMessage().contains("java.") || e.getMessage().contains("Cannot "), e.getMessage());
        }
    }
}
