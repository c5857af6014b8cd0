package io.airlock.controlplane.cli;

import io.airlock.proto.v1.EgressRule;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * An egress rule as typed on the command line: {@code NAME_OR_CIDR[:PORT[,PORT...]]}, e.g.
 * {@code pypi.org:443}, {@code *.pypi.org:80,443}, {@code 10.20.0.0/16:5432}; an IPv6 address
 * or range goes in brackets ({@code [fd00::/8]:443}). No ports: any port. An address or range
 * is a cidr rule, anything else a domain; the agent checks both against its policy.egress.
 */
final class EgressRuleConverter implements CommandLine.ITypeConverter<EgressRule> {
    private static final Pattern PORTS = Pattern.compile("\\d{1,5}(,\\d{1,5})*");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}(/\\d{1,2})?");

    @Override
    public EgressRule convert(String text) {
        String target = text.strip();
        String ports = "";
        boolean bracketed = target.startsWith("[");
        if (bracketed) {
            int close = target.indexOf(']');
            if (close < 0 || (close + 1 < target.length() && target.charAt(close + 1) != ':')) {
                throw bad(text);
            }
            ports = close + 1 < target.length() ? target.substring(close + 2) : "";
            target = target.substring(1, close);
        } else {
            int colon = target.lastIndexOf(':');
            if (colon >= 0) {
                ports = target.substring(colon + 1);
                target = target.substring(0, colon);
            }
        }
        if (target.isEmpty() || (!ports.isEmpty() && !PORTS.matcher(ports).matches()) || (!bracketed && target.contains(":"))) {
            throw bad(text);
        }
        List<Integer> portList = new ArrayList<>();
        for (String p : ports.isEmpty() ? new String[0] : ports.split(",")) {
            int port = Integer.parseInt(p);
            if (port < 1 || port > 65535) {
                throw bad(text);
            }
            portList.add(port);
        }
        EgressRule.Builder rule = EgressRule.newBuilder().addAllPorts(portList);
        boolean address = bracketed || IPV4.matcher(target).matches();
        return (address ? rule.setCidr(target) : rule.setDomain(target)).build();
    }

    private static CommandLine.TypeConversionException bad(String text) {
        return new CommandLine.TypeConversionException("'" + text + "' is not an egress rule (expected: NAME_OR_CIDR[:PORT[,PORT...]], "
                + "e.g. pypi.org:443, *.pypi.org:80,443, 10.20.0.0/16:5432, [fd00::/8]:443; no ports: any port)");
    }

    /** A rule as the agent reports it back, in the same form. */
    static String format(EgressRule rule) {
        String target = rule.hasCidr() ? (rule.getCidr().contains(":") ? "[" + rule.getCidr() + "]" : rule.getCidr()) : rule.getDomain();
        return rule.getPortsCount() == 0 ? target : target + ":" + String.join(",", rule.getPortsList().stream().map(String::valueOf).toList());
    }
}
