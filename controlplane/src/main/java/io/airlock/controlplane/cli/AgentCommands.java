package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import io.airlock.controlplane.admin.v1.Agent;
import io.airlock.controlplane.admin.v1.AgentRef;
import io.airlock.controlplane.admin.v1.CreateJoinTokenRequest;
import io.airlock.controlplane.admin.v1.CreateJoinTokenResponse;
import io.airlock.controlplane.admin.v1.EventsResponse;
import io.airlock.controlplane.admin.v1.ListAgentsRequest;
import io.airlock.controlplane.admin.v1.ListAgentsResponse;
import io.airlock.controlplane.admin.v1.RecordedEvent;
import io.airlock.controlplane.ca.CertificateAuthority;
import io.airlock.notation.Durations;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Commands about the control plane and its agents: join tokens, the agent list, audit anchors, recorded events. */
final class AgentCommands {
    private AgentCommands() {}

    @Command(name = "token", mixinStandardHelpOptions = true, description = "Join tokens.", subcommands = TokenCreate.class)
    static final class Token {}

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a one-time join token for 'airlock enroll'.")
    static final class TokenCreate extends StateCall {
        @Option(names = "--ttl", description = "How long the token stays valid, e.g. 15m. Default: ${DEFAULT-VALUE}")
        String ttl = "1h";

        @Option(names = "--out", description = "Write the token to this file (mode 0600) instead of stdout")
        Path out;

        @Override
        int run(AdminConnection admin) throws Exception {
            CreateJoinTokenResponse r = admin.blocking.createJoinToken(CreateJoinTokenRequest.newBuilder()
                    .setTtlSeconds(Durations.parse(ttl).toSeconds()).build());
            if (out != null) {
                CertificateAuthority.writePrivate(out, r.getToken() + "\n");
                if (opts.json) {
                    // The token stays in the file: --out exists so that it never reaches a terminal or a log.
                    out().println(json(Map.of("written_to", out.toString(), "expires_at_ms", r.getExpiresAtMs())));
                } else {
                    out().errln("join token written to " + out + ", valid until " + Instant.ofEpochMilli(r.getExpiresAtMs()));
                }
            } else {
                out().println(opts.json ? json(r) : r.getToken());
            }
            return 0;
        }
    }

    @Command(name = "agents", mixinStandardHelpOptions = true, description = "List agents that have connected.")
    static final class Agents extends StateCall {
        @Override
        int run(AdminConnection admin) {
            ListAgentsResponse r = admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance());
            if (opts.json) {
                out().println(json(r));
                return 0;
            }
            out().printf("%-22s %-10s %-8s %-9s %-10s %s%n", "AGENT", "STATE", "VERSION", "SANDBOXES", "AUDIT SEQ", "DRIVERS");
            for (Agent a : r.getAgentsList()) {
                out().printf("%-22s %-10s %-8s %-9d %-10s %s%n", a.getAgentId(),
                        a.getDraining() ? "draining" : a.getConnected() ? "connected" : "offline", a.getHello().getVersion(),
                        a.getLiveSandboxes(), a.hasAuditAnchor() ? a.getAuditAnchor().getSeq() + (a.getAuditWarning().isEmpty() ? "" : "!") : "-",
                        String.join(",", a.getHello().getDriversList().stream().map(d -> d.getName()).toList()));
            }
            for (Agent a : r.getAgentsList()) {
                if (!a.getAuditWarning().isEmpty()) {
                    out().println("warning: " + a.getAgentId() + ": " + a.getAuditWarning());
                }
            }
            return 0;
        }
    }

    @Command(name = "audit-anchor", mixinStandardHelpOptions = true,
            description = {"Print the agent's audit anchor as SEQ:HASH: the newest record it reported on disk, kept here.",
                "On the agent's host, 'airlock audit verify --anchor SEQ:HASH' fails when its log no longer reaches it",
                "(records cut and an older sealed head put back: a rollback no local check can see).",
                "Exits 1 when the agent has reported none yet."})
    static final class AuditAnchorCommand extends AdminCall {
        @Parameters(index = "0", arity = "0..1", description = "Agent id; default: --agent, else the only connected agent")
        String agent;

        @Override
        int run(AdminConnection admin) {
            String id = agent != null ? agent : opts.agent;
            ListAgentsResponse r = admin.blocking.listAgents(ListAgentsRequest.getDefaultInstance());
            List<Agent> matches = r.getAgentsList().stream()
                    .filter(a -> id.isEmpty() ? a.getConnected() : a.getAgentId().equals(id)).toList();
            if (matches.size() != 1) {
                out().errln("error: " + (id.isEmpty() ? matches.size() + " agents are connected: name one" : "no agent " + id + " has connected"));
                return 1;
            }
            Agent a = matches.getFirst();
            if (!a.hasAuditAnchor()) {
                out().errln("error: agent " + a.getAgentId() + " has reported no audit anchor yet (it does on connecting and with every ping)");
                return 1;
            }
            if (opts.json) {
                out().println(json(a.getAuditAnchor()));
            } else {
                out().println(a.getAuditAnchor().getSeq() + ":" + a.getAuditAnchor().getSha256());
            }
            if (!a.getAuditWarning().isEmpty()) {
                out().errln("warning: " + a.getAuditWarning());
            }
            return 0;
        }
    }

    @Command(name = "events", mixinStandardHelpOptions = true, description = "Show what the control plane recorded for an agent.")
    static final class Events extends AdminCall {
        @Override
        int run(AdminConnection admin) {
            EventsResponse r = admin.blocking.events(AgentRef.newBuilder().setAgentId(opts.agent).build());
            if (opts.json) {
                out().println(json(r));
                return 0;
            }
            for (RecordedEvent e : r.getEventsList()) {
                out().printf("%s %-12s %s%n", Instant.ofEpochMilli(e.getAtMs()), e.getKind(), e.getDetail());
            }
            return 0;
        }
    }
}
