package io.airlock.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.connector.worker.Approvals;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code airlock approvals}: tool calls waiting for local approval, and the operator's answer to one. */
@Command(name = "approvals", mixinStandardHelpOptions = true,
        description = {"List the work-queue tool calls waiting for approval on this host (environments[].tools.approve), or allow or deny one.",
            "  airlock approvals              list what waits (tool, session, input)",
            "  airlock approvals allow ID     run the call with this tool use id",
            "  airlock approvals deny ID      answer it as refused",
            "Needs write access to state_dir/approvals (the daemon's user). Exits 0, 1 when no call waits under that id, 2 on bad input."})
public final class ApprovalsCommand implements Callable<Integer> {
    @Mixin
    ConfigOptions config;

    @Parameters(arity = "0..2", paramLabel = "ACTION ID", description = "allow ID or deny ID; nothing to list")
    List<String> args = List.of();

    @Override
    public Integer call() throws Exception {
        Approvals approvals = new Approvals(config.load().stateDir().resolve("approvals"));
        if (args.isEmpty()) {
            List<Path> pending = approvals.pending();
            if (pending.isEmpty()) {
                System.out.println("no tool call waits for approval");
            }
            ObjectMapper json = new ObjectMapper();
            for (Path p : pending) {
                JsonNode r = json.readTree(Files.readString(p));
                System.out.printf("%s  %s in session %s (environment %s), until %s%n    input: %s%n", r.path("tool_use_id").asText(),
                        r.path("tool").asText(), r.path("session_id").asText(), r.path("environment_id").asText(),
                        r.path("expires_at").asText(), r.path("input").asText());
            }
            return 0;
        }
        if (args.size() != 2 || !(args.get(0).equals("allow") || args.get(0).equals("deny"))) {
            System.err.println("error: expected 'allow ID' or 'deny ID', got '" + String.join(" ", args) + "'");
            return 2;
        }
        try {
            if (!approvals.decide(args.get(1), args.get(0).equals("allow"))) {
                System.err.println("error: no tool call waits for approval under '" + args.get(1) + "' (it was answered, expired, or never asked)");
                return 1;
            }
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        System.out.println((args.get(0).equals("allow") ? "allowed " : "denied ") + args.get(1));
        return 0;
    }
}
