package io.airlock.core.egress;

import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.tunnel.net.AddressClass;
import io.airlock.tunnel.net.IpLiterals;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * A sandbox's egress allowlist: nothing is reachable but what a rule allows. A name is checked
 * twice: before it is resolved (a domain rule and the port), and then every address it
 * resolves to, because a name may answer with an internal address (DNS rebinding). Addresses
 * in ranges denied by default need a CIDR rule naming that range, whatever name led to them.
 */
public final class EgressPolicy {
    public static final EgressPolicy DENY_ALL = new EgressPolicy(List.of());

    /** @param rule the rule that allowed it, null when denied; {@code reason} says why in words an operator can act on */
    public record Decision(boolean allowed, EgressRule rule, String reason) {
        static Decision allow(EgressRule rule) {
            return new Decision(true, rule, "allowed by " + rule);
        }

        static Decision deny(String reason) {
            return new Decision(false, null, reason);
        }
    }

    private final List<EgressRule> rules;

    public EgressPolicy(List<EgressRule> rules) {
        this.rules = List.copyOf(rules);
    }

    public List<EgressRule> rules() {
        return rules;
    }

    /**
     * The control plane's request, checked against the operator's bound: it may narrow, never
     * widen. The first requested rule that no operator rule covers is named in the refusal.
     */
    public static EgressPolicy narrowed(List<EgressRule> requested, EgressPolicy bound) throws PolicyDeniedException {
        for (EgressRule r : requested) {
            if (bound.rules.stream().noneMatch(r::within)) {
                throw new PolicyDeniedException("policy.egress", "egress rule " + r + " is wider than this agent's policy.egress allows ("
                        + (bound.rules.isEmpty() ? "nothing: egress is off" : bound.rules) + "); the control plane can narrow it, never widen it");
            }
        }
        return new EgressPolicy(requested);
    }

    /** Before resolving: is {@code host} (a name or an IP literal in any spelling) allowed on {@code port}? */
    public Decision checkHost(String host, int port) {
        Optional<InetAddress> literal = IpLiterals.parse(host);
        if (literal.isPresent()) {
            return checkAddress(literal.get(), port, null);
        }
        for (EgressRule r : rules) {
            if (r.matchesName(host) && r.allowsPort(port)) {
                return Decision.allow(r);
            }
        }
        return Decision.deny("no egress rule allows " + EgressRule.normalise(host) + ":" + port);
    }

    /**
     * For each address a name resolved to (with the domain rule that allowed the name), or for
     * an IP literal ({@code nameRule} null).
     */
    public Decision checkAddress(InetAddress address, int port, EgressRule nameRule) {
        AddressClass c = AddressClass.of(address);
        for (EgressRule r : rules) {
            if (r.matchesAddress(address) && r.allowsPort(port)) {
                return Decision.allow(r);
            }
        }
        if (c.deniedByDefault()) {
            return Decision.deny((nameRule != null ? "the name resolved to " : "") + address.getHostAddress() + ", a " + c.describe()
                    + " address: denied unless a cidr rule names that range");
        }
        if (nameRule != null) {
            return Decision.allow(nameRule);
        }
        return Decision.deny("no egress cidr rule allows " + address.getHostAddress() + ":" + port);
    }
}
