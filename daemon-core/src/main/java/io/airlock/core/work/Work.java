package io.airlock.core.work;

import java.util.List;
import java.util.Map;

/**
 * What a connector asks the core to do, decoded once from its wire form. Values are as the caller
 * sent them: the core validates them (so that a malformed one is audited and refused with the
 * field it names, whichever connector carried it). Empty strings and zeros mean "not set".
 */
public sealed interface Work {
    /** Every action this agent takes, as {@link #action()} names them: what a refusal of an unknown one lists. */
    List<String> ACTIONS = List.of("provision", "destroy", "get", "list", "update_egress", "pause", "resume", "exec", "write_file",
            "read_file", "list_files", "write_archive", "read_archive", "stat", "snapshot", "delete_snapshot", "list_snapshots", "mcp");

    /** The action's name in audit records and errors ({@code write_file}). */
    String action();

    /** The sandbox the work is about; empty for work about none (list, snapshots by name, MCP). */
    default String sandboxId() {
        return "";
    }

    /** One allowlist rule as sent: a domain or a CIDR (exactly one expected), and ports (none: any). */
    record RuleSpec(String domain, String cidr, List<Integer> ports) {
        public RuleSpec {
            domain = domain == null ? "" : domain;
            cidr = cidr == null ? "" : cidr;
            ports = List.copyOf(ports);
        }

        /** As the configuration writes it: {@code pypi.org:[443]}, {@code 10.0.0.0/8:[]}. */
        @Override
        public String toString() {
            return (domain.isEmpty() ? cidr : domain) + ":" + ports;
        }
    }

    record Limits(long memoryBytes, int maxProcesses, long cpuSeconds, long workspaceBytes) {
        public static final Limits NONE = new Limits(0, 0, 0, 0);
    }

    record InitialFile(String path, byte[] content, int mode) {}

    /** @param egress the sandbox's allowlist; null when the caller sent none (the policy's default applies) */
    record Provision(String sandboxId, String driver, String image, String snapshot, String template, Limits limits,
            Map<String, String> env, Map<String, String> labels, List<InitialFile> files, List<RuleSpec> egress) implements Work {
        public String action() {
            return "provision";
        }
    }

    record Destroy(String sandboxId) implements Work {
        public String action() {
            return "destroy";
        }
    }

    record Get(String sandboxId) implements Work {
        public String action() {
            return "get";
        }
    }

    record ListSandboxes() implements Work {
        public String action() {
            return "list";
        }
    }

    record UpdateEgress(String sandboxId, List<RuleSpec> egress) implements Work {
        public String action() {
            return "update_egress";
        }
    }

    record Pause(String sandboxId) implements Work {
        public String action() {
            return "pause";
        }
    }

    record Resume(String sandboxId) implements Work {
        public String action() {
            return "resume";
        }
    }

    /**
     * @param resumeFromSeq on a repeat after a broken stream: the first output chunk the caller still needs
     * @param columns       with {@code rows}, the terminal's size when {@code tty}; both 0 for the default
     */
    record Exec(String sandboxId, List<String> argv, Map<String, String> env, String workingDir, long timeoutMs, long outputCapBytes,
            boolean stdin, long resumeFromSeq, boolean tty, int columns, int rows) implements Work {
        public String action() {
            return "exec";
        }
    }

    record WriteFile(String sandboxId, String path, int mode) implements Work {
        public String action() {
            return "write_file";
        }
    }

    record ReadFile(String sandboxId, String path) implements Work {
        public String action() {
            return "read_file";
        }
    }

    record ListFiles(String sandboxId, String path, boolean recursive) implements Work {
        public String action() {
            return "list_files";
        }
    }

    record WriteArchive(String sandboxId, String path) implements Work {
        public String action() {
            return "write_archive";
        }
    }

    record ReadArchive(String sandboxId, String path) implements Work {
        public String action() {
            return "read_archive";
        }
    }

    record Stat(String sandboxId, String path) implements Work {
        public String action() {
            return "stat";
        }
    }

    record Snapshot(String sandboxId, String name) implements Work {
        public String action() {
            return "snapshot";
        }
    }

    /** @param driver the driver holding it; empty: whichever does */
    record DeleteSnapshot(String name, String driver) implements Work {
        public String action() {
            return "delete_snapshot";
        }
    }

    record ListSnapshots(String driver) implements Work {
        public String action() {
            return "list_snapshots";
        }
    }

    /**
     * One HTTP exchange with a private MCP server.
     *
     * @param headers      request headers, names in lower case
     * @param bodyOnStream the body comes on the work's data channel (it was too large to ride in the request)
     * @param publicUrl    where the caller reaches the server, for OAuth metadata; empty when unknown
     * @param resourceMetadata the exchange asks for the server's OAuth protected-resource metadata
     */
    record McpExchange(String server, String method, Map<String, String> headers, Caller caller, byte[] body, boolean bodyOnStream,
                       String publicUrl, boolean resourceMetadata) implements Work {
        public McpExchange(String server, String method, Map<String, String> headers, Caller caller, byte[] body, boolean bodyOnStream) {
            this(server, method, headers, caller, body, bodyOnStream, "", false);
        }

        public record Caller(String user, String agent, String session) {}

        public String action() {
            return "mcp";
        }
    }

    /** Work this agent does not know (a newer caller); refused with what it does know. */
    record Unknown(String description) implements Work {
        public String action() {
            return "unknown";
        }
    }
}
