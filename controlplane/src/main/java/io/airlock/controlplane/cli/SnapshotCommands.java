package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import io.airlock.controlplane.admin.v1.AgentRef;
import io.airlock.controlplane.admin.v1.DeleteSnapshotRequest;
import io.airlock.controlplane.admin.v1.SnapshotRequest;
import io.airlock.proto.v1.DeleteSnapshot;
import io.airlock.proto.v1.SnapshotList;
import io.airlock.proto.v1.SnapshotSandbox;
import java.time.Instant;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Commands on an agent's snapshots: take, list, delete. */
final class SnapshotCommands {
    private SnapshotCommands() {}

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Save a sandbox as a named snapshot (drivers that can: docker); 'cp create ID --snapshot NAME' starts from it.")
    static final class Snapshot extends AdminCall {
        @Parameters(index = "0", description = "Sandbox id")
        String id;

        @Parameters(index = "1", description = "Snapshot name: 1-63 of [a-z0-9-]")
        String name;

        @Override
        int run(AdminConnection admin) {
            var s = admin.blocking.snapshot(SnapshotRequest.newBuilder().setAgentId(opts.agent)
                    .setSnapshot(SnapshotSandbox.newBuilder().setSandboxId(id).setName(name)).build());
            out().println(opts.json ? json(s) : s.getName() + " of " + s.getSourceSandboxId() + ": " + s.getSizeBytes() + " bytes");
            return 0;
        }
    }

    @Command(name = "snapshots", mixinStandardHelpOptions = true, description = "List an agent's snapshots, of every driver that takes them.")
    static final class Snapshots extends AdminCall {
        @Option(names = "--driver", description = "Only this driver's snapshots")
        String driver = "";

        @Override
        int run(AdminConnection admin) {
            var all = admin.blocking.listSnapshots(AgentRef.newBuilder().setAgentId(opts.agent).build());
            var l = SnapshotList.newBuilder().addAllSnapshots(all.getSnapshotsList().stream()
                    .filter(s -> driver.isEmpty() || s.getDriver().equals(driver)).toList()).build();
            if (opts.json) {
                out().println(json(l));
                return 0;
            }
            out().printf("%-24s %-10s %-24s %12s %s%n", "SNAPSHOT", "DRIVER", "FROM", "BYTES", "CREATED");
            for (var s : l.getSnapshotsList()) {
                out().printf("%-24s %-10s %-24s %12d %s%n", s.getName(), s.getDriver(), s.getSourceSandboxId(), s.getSizeBytes(),
                        Instant.ofEpochMilli(s.getCreatedAtMs()));
            }
            return 0;
        }
    }

    @Command(name = "snapshot-rm", mixinStandardHelpOptions = true, description = "Delete a snapshot (idempotent; refused while a sandbox uses it).")
    static final class SnapshotRm extends AdminCall {
        @Parameters(index = "0", description = "Snapshot name")
        String name;

        @Option(names = "--driver", description = "The driver holding it; default: the one whose snapshots include NAME")
        String driver = "";

        @Override
        int run(AdminConnection admin) {
            admin.blocking.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setAgentId(opts.agent)
                    .setSnapshot(DeleteSnapshot.newBuilder().setName(name).setDriver(driver)).build());
            out().println(opts.json ? json(Map.of("deleted", name)) : name + " deleted");
            return 0;
        }
    }
}
