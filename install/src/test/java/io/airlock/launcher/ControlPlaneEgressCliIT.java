package io.airlock.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.Prerequisites;
import io.airlock.driver.bubblewrap.BubblewrapDriverProvider;
import io.airlock.embedded.EmbeddedStack;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 17.14: the CLI gives a sandbox an egress allowlist, shows it and replaces it, within the agent's policy. */
class ControlPlaneEgressCliIT {
    @TempDir
    Path dir;
    EmbeddedStack stack;

    @AfterEach
    void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void createShowAndSetAnAllowlist() throws Exception {
        Prerequisites.require("bubblewrap", new BubblewrapDriverProvider().unavailableReason());
        stack = EmbeddedStack.start(dir.resolve("stack"), "bubblewrap", "{}",
                "{egress: {allow: [{domain: \"*.example.test\"}, {cidr: \"10.20.0.0/16\", ports: [5432]}]}}");
        Path state = stack.dir.resolve("controlplane");
        var created = ControlPlaneCliFailureIT.cp(state, "create", "net", "--egress", "pypi.example.test:443", "--egress", "10.20.3.0/24:5432");
        assertEquals(0, created.exit(), created.err());
        var shown = ControlPlaneCliFailureIT.cp(state, "egress show", "net");
        assertEquals("pypi.example.test:443\n10.20.3.0/24:5432\n", shown.out(), shown.err());

        var set = ControlPlaneCliFailureIT.cp(state, "egress set", "net", "*.example.test:80,443");
        assertEquals(0, set.exit(), set.err());
        assertEquals("*.example.test:80,443\n", ControlPlaneCliFailureIT.cp(state, "egress show", "net").out());

        var wider = ControlPlaneCliFailureIT.cp(state, "egress set", "net", "pypi.org:443");
        assertEquals(1, wider.exit(), wider.err());
        assertTrue(wider.err().contains("POLICY_DENIED") && wider.err().contains("pypi.org:[443] is wider than this agent's policy.egress"),
                wider.err());
        assertEquals("*.example.test:80,443\n", ControlPlaneCliFailureIT.cp(state, "egress show", "net").out(), "the old rules stay");

        var bad = ControlPlaneCliFailureIT.cp(state, "egress set", "net", "fd00::1:443");
        assertEquals(2, bad.exit(), bad.err());
        assertTrue(bad.err().contains("is not an egress rule (expected: NAME_OR_CIDR[:PORT[,PORT...]]"), bad.err());

        assertEquals(0, ControlPlaneCliFailureIT.cp(state, "egress set", "net").exit(), "no rules: it reaches nothing");
        assertEquals("(no rules: net reaches nothing)\n", ControlPlaneCliFailureIT.cp(state, "egress show", "net").out());
    }
}
