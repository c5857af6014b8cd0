package io.airlock.core.egress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.core.egress.EgressPolicy;
import io.airlock.core.egress.EgressRule;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.tunnel.net.IpLiterals;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Egress decisions and narrowing as pure functions: nothing is resolved or dialled. */
class EgressPolicyTest {
    static InetAddress ip(String s) {
        return IpLiterals.parse(s).orElseThrow();
    }

    final EgressPolicy operator = new EgressPolicy(List.of(
            EgressRule.domain("*.pypi.org", Set.of(443)),
            EgressRule.domain("github.com", Set.of(80, 443)),
            EgressRule.cidr("10.20.0.0/16", Set.of(5432)),
            EgressRule.cidr("0.0.0.0/0", Set.of(443))));

    @Test
    void namesAreCheckedByRuleAndPortThenEveryResolvedAddress() {
        EgressPolicy.Decision d = operator.checkHost("files.pypi.org", 443);
        assertTrue(d.allowed(), d.reason());
        assertEquals("*.pypi.org", d.rule().domain());
        assertFalse(operator.checkHost("pypi.org", 443).allowed(), "*.suffix covers names below it, not the suffix itself");
        assertFalse(operator.checkHost("files.pypi.org", 80).allowed(), "port");
        assertTrue(operator.checkHost("GitHub.com.", 80).allowed(), "case and a trailing dot do not matter");
        EgressPolicy.Decision denied = operator.checkHost("evil.example", 443);
        assertFalse(denied.allowed());
        assertEquals("no egress rule allows evil.example:443", denied.reason());

        // Rebinding: an allowed name that answers with an internal address is refused for that address.
        EgressPolicy.Decision rebind = operator.checkAddress(ip("169.254.169.254"), 443, d.rule());
        assertFalse(rebind.allowed());
        assertTrue(rebind.reason().startsWith("the name resolved to 169.254.169.254, a link-local"), rebind.reason());
        assertFalse(operator.checkAddress(ip("127.0.0.1"), 443, d.rule()).allowed());
        assertFalse(operator.checkAddress(ip("::ffff:10.0.0.1"), 443, d.rule()).allowed());
        assertTrue(operator.checkAddress(ip("151.101.0.223"), 443, d.rule()).allowed());
    }

    @Test
    void ipLiteralsNeedACidrRuleAndInternalRangesNeedOneThatNamesThem() {
        assertTrue(operator.checkHost("10.20.3.4", 5432).allowed(), "10.20.0.0/16 names that private range");
        assertFalse(operator.checkHost("10.21.0.1", 5432).allowed());
        assertFalse(operator.checkHost("10.20.3.4", 22).allowed(), "port");
        assertTrue(operator.checkHost("93.184.216.34", 443).allowed(), "public, within 0.0.0.0/0 on 443");
        for (String internal : new String[] {"127.0.0.1", "0177.0.0.1", "2130706433", "127.1", "169.254.169.254", "[::1]", "192.168.0.1"}) {
            EgressPolicy.Decision d = operator.checkHost(internal, 443);
            assertFalse(d.allowed(), internal + ": 0.0.0.0/0 does not name internal ranges");
            assertTrue(d.reason().contains("denied unless a cidr rule names that range"), d.reason());
        }
        assertFalse(EgressPolicy.DENY_ALL.checkHost("93.184.216.34", 443).allowed(), "deny by default");
        assertFalse(EgressPolicy.DENY_ALL.checkHost("pypi.org", 443).allowed());
    }

    @Test
    void theControlPlaneMayNarrowTheOperatorsPolicyButNeverWidenIt() throws Exception {
        EgressPolicy narrow = EgressPolicy.narrowed(List.of(
                EgressRule.domain("files.pypi.org", Set.of(443)),
                EgressRule.domain("*.cdn.pypi.org", Set.of(443)),
                EgressRule.domain("github.com", Set.of(443)),
                EgressRule.cidr("10.20.5.0/24", Set.of(5432))), operator);
        assertEquals(4, narrow.rules().size());
        assertFalse(narrow.checkHost("github.com", 80).allowed(), "the narrowed policy is what applies");

        for (EgressRule wider : List.of(
                EgressRule.domain("*.org", Set.of(443)),
                EgressRule.domain("pypi.org", Set.of(443)),
                EgressRule.domain("files.pypi.org", Set.of(443, 22)),
                EgressRule.domain("github.com", Set.of()),
                EgressRule.cidr("10.0.0.0/8", Set.of(5432)),
                EgressRule.cidr("10.20.0.0/16", Set.of(5432, 6379)))) {
            PolicyDeniedException e = assertThrows(PolicyDeniedException.class, () -> EgressPolicy.narrowed(List.of(wider), operator));
            assertEquals("policy.egress", e.rule());
            assertTrue(e.getMessage().startsWith("egress rule " + wider + " is wider than this agent's policy.egress allows"), e.getMessage());
        }
        PolicyDeniedException off = assertThrows(PolicyDeniedException.class,
                () -> EgressPolicy.narrowed(List.of(EgressRule.domain("pypi.org", Set.of(443))), EgressPolicy.DENY_ALL));
        assertTrue(off.getMessage().contains("nothing: egress is off"), off.getMessage());
    }

    @Test
    void malformedRulesSayWhatWasExpected() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EgressRule.domain("10.0.0.1", Set.of()))
                .getMessage().contains("is an IP address (expected a name; use cidr for addresses)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EgressRule.domain("bad name!", Set.of()))
                .getMessage().contains("expected a host name like pypi.org"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EgressRule.domain("ok.example", Set.of(70000)))
                .getMessage().contains("egress port 70000 (expected 1 to 65535)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new EgressRule(null, null, Set.of()))
                .getMessage().contains("exactly one"));
    }
}
