package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import io.airlock.controlplane.admin.v1.AgentRef;
import io.airlock.controlplane.admin.v1.ProvisionRequest;
import io.airlock.controlplane.admin.v1.SandboxRef;
import io.airlock.controlplane.admin.v1.UpdateEgressRequest;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.EgressRule;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ResourceLimits;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.UpdateEgress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Commands on an agent's sandboxes: create, list, destroy, pause, resume, and their egress allowlists. */
final class SandboxCommands {
    private SandboxCommands() {}

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Provision a sandbox (idempotent on its id).")
    static final class Create extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id: 1-63 of [a-z0-9-]")
        String id;

        @Option(names = "--driver", description = "Driver; default: the agent's default")
        String driver = "";

        @Option(names = "--memory", converter = SizeConverter.class, description = "Memory limit, e.g. 512MiB or 2GB; 0: policy default")
        long memory;

        @Option(names = "--workspace-size", converter = SizeConverter.class,
                description = "Workspace size limit, e.g. 1GiB (drivers that can: docker); 0: policy default")
        long workspace;

        @Option(names = "--image", description = "Image (drivers with images: docker); default: the driver's")
        String image = "";

        @Option(names = "--snapshot", description = "Start from this snapshot of the agent (see 'cp snapshot'), on the driver that holds it")
        String snapshot = "";

        @Option(names = "--template", description = "One of the driver's configured templates (docker: image, runtime, warm pool)")
        String template = "";

        @Option(names = "--env", description = "Environment for every process, KEY=VALUE (repeatable)")
        Map<String, String> env = Map.of();

        @Option(names = "--egress", paramLabel = "RULE", converter = EgressRuleConverter.class,
                description = {"Allow the sandbox to reach this (repeatable): NAME_OR_CIDR[:PORT[,PORT...]], e.g. pypi.org:443,",
                    "*.pypi.org, 10.20.0.0/16:5432, [fd00::/8]:443. Within the agent's policy.egress; none: it reaches nothing"})
        List<EgressRule> egress = List.of();

        @Override
        int run(AdminConnection admin) {
            ProvisionSandbox.Builder sandbox = ProvisionSandbox.newBuilder().setSandboxId(id).setDriver(driver).putAllEnv(env).setImage(image)
                    .setSnapshot(snapshot).setTemplate(template)
                    .setLimits(ResourceLimits.newBuilder().setMemoryBytes(memory).setWorkspaceBytes(workspace));
            if (!egress.isEmpty()) {
                sandbox.setEgress(EgressPolicy.newBuilder().addAllRules(egress));
            }
            SandboxInfo s = admin.blocking.provision(ProvisionRequest.newBuilder().setAgentId(opts.agent).setSandbox(sandbox).build());
            out().println(opts.json ? json(s) : s.getSandboxId() + " " + s.getState() + " (" + s.getDriver() + ")");
            return 0;
        }
    }

    @Command(name = "egress", mixinStandardHelpOptions = true, description = "Show or replace a sandbox's egress allowlist.",
            subcommands = {EgressShow.class, EgressSet.class})
    static final class Egress {
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Print a sandbox's egress rules, one per line.")
    static final class EgressShow extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Override
        int run(AdminConnection admin) {
            SandboxInfo s = admin.blocking.listSandboxes(AgentRef.newBuilder().setAgentId(opts.agent).build()).getSandboxesList().stream()
                    .filter(x -> x.getSandboxId().equals(id)).findFirst().orElse(null);
            if (s == null) {
                out().errln("error: no sandbox " + id + " on this agent ('airlock cp ls' lists them)");
                return EXIT_REFUSED;
            }
            if (opts.json) {
                out().println(json(s.getEgress()));
            } else if (s.getEgress().getRulesCount() == 0) {
                out().println("(no rules: " + id + " reaches nothing)");
            } else {
                s.getEgress().getRulesList().forEach(r -> out().println(EgressRuleConverter.format(r)));
            }
            return 0;
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Replace a sandbox's egress allowlist: connections opened from now on are decided by the new rules;",
                "open ones run on. A rule wider than the agent's policy.egress is refused, and the old rules stay."})
    static final class EgressSet extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        // Strings, converted in run(): picocli reports a positional value it cannot convert as "Unmatched argument".
        @Parameters(index = "1..*", paramLabel = "RULE",
                description = "NAME_OR_CIDR[:PORT[,PORT...]] (e.g. pypi.org:443, 10.20.0.0/16:5432, [fd00::/8]:443); none: it reaches nothing")
        List<String> given = List.of();

        @Override
        int run(AdminConnection admin) {
            List<EgressRule> rules = new ArrayList<>();
            try {
                for (String g : given) {
                    rules.add(new EgressRuleConverter().convert(g));
                }
            } catch (CommandLine.TypeConversionException e) {
                out().errln("error: " + e.getMessage());
                return 2;
            }
            SandboxInfo s = admin.blocking.updateEgress(UpdateEgressRequest.newBuilder().setAgentId(opts.agent)
                    .setUpdate(UpdateEgress.newBuilder().setSandboxId(id)
                            .setEgress(EgressPolicy.newBuilder().addAllRules(rules))).build());
            out().println(opts.json ? json(s) : id + ": " + (s.getEgress().getRulesCount() == 0 ? "reaches nothing"
                    : String.join(" ", s.getEgress().getRulesList().stream().map(EgressRuleConverter::format).toList())));
            return 0;
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List an agent's sandboxes.")
    static final class Ls extends AdminCall {
        @Override
        int run(AdminConnection admin) {
            SandboxList l = admin.blocking.listSandboxes(AgentRef.newBuilder().setAgentId(opts.agent).build());
            if (opts.json) {
                out().println(json(l));
                return 0;
            }
            out().printf("%-24s %-12s %-8s %s%n", "SANDBOX", "DRIVER", "STATE", "CREATED");
            for (SandboxInfo s : l.getSandboxesList()) {
                out().printf("%-24s %-12s %-8s %s%n", s.getSandboxId(), s.getDriver(), s.getState(), Instant.ofEpochMilli(s.getCreatedAtMs()));
            }
            return 0;
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Destroy a sandbox (idempotent).")
    static final class Rm extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Override
        int run(AdminConnection admin) {
            admin.blocking.destroy(SandboxRef.newBuilder().setAgentId(opts.agent).setSandboxId(id).build());
            out().println(opts.json ? json(Map.of("destroyed", id)) : id + " destroyed");
            return 0;
        }
    }

    /** pause and resume differ only in the call they make. */
    abstract static class PauseOrResume extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        abstract SandboxInfo call(AdminConnection admin, SandboxRef ref);

        @Override
        int run(AdminConnection admin) {
            SandboxInfo s = call(admin, SandboxRef.newBuilder().setAgentId(opts.agent).setSandboxId(id).build());
            out().println(opts.json ? json(s) : s.getSandboxId() + " " + s.getState());
            return 0;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = "Freeze a sandbox's processes (drivers that can: docker).")
    static final class Pause extends PauseOrResume {
        @Override
        SandboxInfo call(AdminConnection admin, SandboxRef ref) {
            return admin.blocking.pause(ref);
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Thaw a paused sandbox.")
    static final class Resume extends PauseOrResume {
        @Override
        SandboxInfo call(AdminConnection admin, SandboxRef ref) {
            return admin.blocking.resume(ref);
        }
    }
}
