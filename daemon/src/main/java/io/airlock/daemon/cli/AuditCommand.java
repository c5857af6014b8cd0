package io.airlock.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.airlock.core.audit.AuditAnchor;
import io.airlock.core.audit.AuditVerifier;
import io.airlock.core.config.ConfigException;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code airlock audit}: verify, query and follow the daemon's audit log. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Verify, query and follow the tamper-evident audit log.",
        subcommands = {AuditCommand.Verify.class, AuditCommand.Query.class, AuditCommand.Tail.class})
public final class AuditCommand {
    static final ObjectMapper JSON = new ObjectMapper();

    /** The audit directory: the argument, or the configuration's (audit.dir, or state_dir/audit). */
    abstract static class AuditCall implements Callable<Integer> {
        @Mixin
        ConfigOptions config;

        @Parameters(index = "0", arity = "0..1", description = "Audit directory; default: the configuration's audit.dir or state_dir/audit")
        Path path;

        Path dir() throws ConfigException {
            return path != null ? path : config.load().auditDir();
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check every record's MAC, the hash chain across rotated files and the sealed head.",
                "With --anchor, also that the log still reaches the record the control plane keeps for this agent",
                "('airlock cp audit-anchor' prints it): only that catches a log rolled back to an older genuine state.",
                "Exits 0 when the log is intact, 1 naming the first bad record, 2 when it cannot be read."})
    static final class Verify extends AuditCall {
        @Option(names = "--anchor", paramLabel = "SEQ:HASH",
                description = "The control plane's audit anchor for this agent (airlock cp audit-anchor AGENT)")
        String anchor;

        @Override
        public Integer call() throws Exception {
            Path dir = dir();
            AuditAnchor a;
            try {
                a = anchor == null ? null : AuditAnchor.parse(anchor);
            } catch (IllegalArgumentException e) {
                System.err.println("error: --anchor: " + e.getMessage());
                return 2;
            }
            AuditVerifier.Result r = AuditVerifier.verify(dir, a, x -> { });
            r.notes().forEach(n -> System.out.println("note: " + n));
            if (!r.ok()) {
                System.err.println("FAIL " + dir + ": " + r.problem());
                return r.records() == 0 && r.files() == 0 ? 2 : 1;
            }
            System.out.println("OK " + dir + ": " + r.records() + " records in " + r.files() + " file(s), chain and sealed head intact"
                    + (a == null ? "" : ", the control plane's anchor at seq " + a.seq() + " reached"));
            return 0;
        }
    }

    @Command(name = "query", mixinStandardHelpOptions = true, description = "Show records (verified on the way) by time, sandbox, type and outcome.")
    static final class Query extends AuditCall {
        @Option(names = "--since", description = "ISO-8601 instant, e.g. 2026-11-21T10:00:00Z")
        Instant since;

        @Option(names = "--until", description = "ISO-8601 instant")
        Instant until;

        @Option(names = "--sandbox", description = "Only records about this sandbox")
        String sandbox;

        @Option(names = "--type", description = "Only this type, e.g. command, command.result, sandbox, connection, policy.denied")
        String type;

        @Option(names = "--outcome", description = "Only records with this outcome, in any case: OK, POLICY_DENIED (commands), denied, failed (mcp)")
        String outcome;

        @Option(names = "--json", description = "One JSON record per line instead of a table")
        boolean json;

        @Override
        public Integer call() throws Exception {
            List<JsonNode> hits = new ArrayList<>();
            AuditVerifier.Result r = AuditVerifier.verify(dir(), located -> {
                JsonNode n = located.record();
                Instant ts = Instant.parse(n.path("ts").asText());
                if ((since == null || !ts.isBefore(since)) && (until == null || ts.isBefore(until))
                        && (sandbox == null || sandbox.equals(n.path("sandbox_id").asText()))
                        && (type == null || type.equals(n.path("type").asText()))
                        // Commands record outcomes as error codes (POLICY_DENIED), MCP exchanges in lower case (denied).
                        && (outcome == null || outcome.equalsIgnoreCase(n.path("outcome").asText()))) {
                    hits.add(n);
                }
            });
            for (JsonNode n : hits) {
                if (json) {
                    System.out.println(JSON.writeValueAsString(n));
                } else {
                    System.out.printf("%-6d %-27s %-15s %-22s %s%n", n.path("seq").asLong(), n.path("ts").asText(), n.path("type").asText(),
                            n.path("sandbox_id").asText("-"), summary(n));
                }
            }
            if (!r.ok()) {
                System.err.println("FAIL: the log does not verify past this point: " + r.problem());
                return 1;
            }
            return 0;
        }

        private static String summary(JsonNode n) {
            StringBuilder s = new StringBuilder();
            for (String f : List.of("action", "server", "method", "tool", "decision", "host", "outcome", "argv", "exit_code", "path", "state",
                    "event", "rule", "error", "message", "reason")) {
                if (n.has(f)) {
                    s.append(f).append('=').append(n.get(f).isTextual() ? n.get(f).asText() : n.get(f).toString()).append(' ');
                }
            }
            return s.toString().strip();
        }
    }

    @Command(name = "tail", mixinStandardHelpOptions = true, description = "Print the newest records; with -f keep printing new ones, across rotations.")
    static final class Tail extends AuditCall {
        @Option(names = {"-f", "--follow"}, description = "Keep printing records as they are appended (Ctrl-C to stop)")
        boolean follow;

        @Option(names = {"-n", "--lines"}, description = "How many of the newest records to print first. Default: ${DEFAULT-VALUE}")
        int lines = 10;

        @Override
        public Integer call() throws Exception {
            Path dir = dir();
            List<Path> files = logFiles(dir);
            if (files.isEmpty()) {
                System.err.println("error: no audit-NNNNNN.log files in " + dir);
                return 2;
            }
            Path current = files.getLast();
            byte[] bytes = Files.readAllBytes(current);
            int complete = bytes.length;
            while (complete > 0 && bytes[complete - 1] != '\n') {
                complete--; // a line being written is printed once it is whole
            }
            List<String> last = new String(bytes, 0, complete, StandardCharsets.UTF_8).lines().toList();
            last.subList(Math.max(0, last.size() - lines), last.size()).forEach(System.out::println);
            System.out.flush();
            long offset = complete;
            while (follow) {
                Thread.sleep(200);
                List<Path> now = logFiles(dir);
                long size = Files.size(current);
                if (size > offset) {
                    offset = print(current, offset);
                } else if (!now.getLast().equals(current)) {
                    // Rotated: finish this file, then follow the next one from its start.
                    offset = print(current, offset);
                    Path done = current;
                    current = now.stream().filter(p -> p.compareTo(done) > 0).findFirst().orElse(now.getLast());
                    offset = 0;
                }
            }
            return 0;
        }

        /** Prints complete lines from {@code offset}; returns the offset after the last complete line. */
        private static long print(Path file, long offset) throws IOException {
            try (var ch = FileChannel.open(file)) {
                ch.position(offset);
                byte[] bytes = Channels.newInputStream(ch).readAllBytes();
                int end = bytes.length;
                while (end > 0 && bytes[end - 1] != '\n') {
                    end--;
                }
                System.out.print(new String(bytes, 0, end, StandardCharsets.UTF_8));
                System.out.flush();
                return offset + end;
            }
        }

        private static List<Path> logFiles(Path dir) throws IOException {
            try (var s = Files.list(dir)) {
                return s.filter(p -> p.getFileName().toString().matches("audit-\\d{6}\\.log")).sorted().toList();
            }
        }
    }
}
