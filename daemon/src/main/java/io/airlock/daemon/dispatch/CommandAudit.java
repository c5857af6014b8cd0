package io.airlock.daemon.dispatch;

import io.airlock.core.audit.AuditLog;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the daemon records about commands: one {@code command} record when a command arrives
 * (before it runs: if that cannot be written, the command is refused) and one
 * {@code command.result} when it is done. Environment values are recorded as keyed hashes
 * (they often carry secrets); file contents never, only their size and SHA-256.
 */
public final class CommandAudit {
    private final AuditLog log;

    public CommandAudit(AuditLog log) {
        this.log = log;
    }

    public AuditLog log() {
        return log;
    }

    /** Records an arriving command; throws {@link AuditException} when it cannot. */
    public void received(Command c) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("command_id", c.getCommandId());
        f.put("action", action(c));
        switch (c.getActionCase()) {
            case PROVISION -> {
                var p = c.getProvision();
                f.put("sandbox_id", p.getSandboxId());
                f.put("driver", p.getDriver());
                f.put("image", p.getImage());
                f.put("snapshot", p.getSnapshot());
                f.put("template", p.getTemplate());
                f.put("limits", Map.of("memory_bytes", p.getLimits().getMemoryBytes(), "max_processes", p.getLimits().getMaxProcesses(),
                        "cpu_seconds", p.getLimits().getCpuSeconds(), "workspace_bytes", p.getLimits().getWorkspaceBytes()));
                f.put("env", hashed(p.getEnvMap()));
                f.put("files", p.getFilesList().stream().map(x -> x.getPath()).toList());
                if (p.hasEgress()) {
                    f.put("egress", rules(p.getEgress()));
                }
            }
            case UPDATE_EGRESS -> {
                f.put("sandbox_id", c.getUpdateEgress().getSandboxId());
                f.put("egress", rules(c.getUpdateEgress().getEgress()));
            }
            case EXEC -> {
                var x = c.getExec();
                f.put("sandbox_id", x.getSandboxId());
                f.put("argv", List.copyOf(x.getArgvList()));
                f.put("working_dir", x.getWorkingDir());
                f.put("env", hashed(x.getEnvMap()));
                f.put("tty", x.getTty());
                f.put("stdin", x.getStdin());
                if (x.getResumeFromSeq() > 0) {
                    f.put("resume_from_seq", x.getResumeFromSeq());
                }
            }
            case WRITE_FILE -> path(f, c.getWriteFile().getSandboxId(), c.getWriteFile().getPath());
            case READ_FILE -> path(f, c.getReadFile().getSandboxId(), c.getReadFile().getPath());
            case LIST_FILES -> path(f, c.getListFiles().getSandboxId(), c.getListFiles().getPath());
            case STAT -> path(f, c.getStat().getSandboxId(), c.getStat().getPath());
            case WRITE_ARCHIVE -> path(f, c.getWriteArchive().getSandboxId(), c.getWriteArchive().getPath());
            case READ_ARCHIVE -> path(f, c.getReadArchive().getSandboxId(), c.getReadArchive().getPath());
            case DESTROY -> f.put("sandbox_id", c.getDestroy().getSandboxId());
            case GET -> f.put("sandbox_id", c.getGet().getSandboxId());
            case PAUSE -> f.put("sandbox_id", c.getPause().getSandboxId());
            case RESUME -> f.put("sandbox_id", c.getResume().getSandboxId());
            case SNAPSHOT -> {
                f.put("sandbox_id", c.getSnapshot().getSandboxId());
                f.put("snapshot", c.getSnapshot().getName());
            }
            case DELETE_SNAPSHOT -> f.put("snapshot", c.getDeleteSnapshot().getName());
            default -> { }
        }
        log.append("command", f);
    }

    /** Records a command's outcome. */
    public void finished(Command c, CommandResult r, Duration took) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("command_id", c.getCommandId());
        f.put("action", action(c));
        f.put("outcome", r.hasError() ? r.getError().getCode().name() : "OK");
        if (r.hasError()) {
            f.put("message", r.getError().getMessage());
        }
        f.put("duration_ms", took.toMillis());
        String sandbox = sandboxOf(c);
        if (!sandbox.isEmpty()) {
            f.put("sandbox_id", sandbox); // so that a query by sandbox finds every result about it
        }
        if (r.hasExec()) {
            var x = r.getExec();
            f.put("exit_code", x.getExitCode());
            f.put("timed_out", x.getTimedOut());
            f.put("output_truncated", x.getOutputTruncated());
            f.put("stdout_bytes", x.getStdoutBytes());
            f.put("stderr_bytes", x.getStderrBytes());
            f.put("exec_ms", x.getDurationMs());
        } else if (r.hasFile()) {
            f.put("path", r.getFile().getPath());
            f.put("size", r.getFile().getSize());
            f.put("sha256", r.getFile().getSha256());
            if (r.getFile().getEntries() > 0) {
                f.put("entries", r.getFile().getEntries());
            }
        } else if (r.hasSandbox()) {
            f.put("sandbox_id", r.getSandbox().getSandboxId());
            f.put("state", r.getSandbox().getState().name());
        }
        log.append("command.result", f);
    }

    /** The sandbox a command is about; empty for those about none (list, snapshots by name, MCP). */
    static String sandboxOf(Command c) {
        return switch (c.getActionCase()) {
            case PROVISION -> c.getProvision().getSandboxId();
            case DESTROY -> c.getDestroy().getSandboxId();
            case GET -> c.getGet().getSandboxId();
            case PAUSE -> c.getPause().getSandboxId();
            case RESUME -> c.getResume().getSandboxId();
            case UPDATE_EGRESS -> c.getUpdateEgress().getSandboxId();
            case EXEC -> c.getExec().getSandboxId();
            case WRITE_FILE -> c.getWriteFile().getSandboxId();
            case READ_FILE -> c.getReadFile().getSandboxId();
            case LIST_FILES -> c.getListFiles().getSandboxId();
            case STAT -> c.getStat().getSandboxId();
            case WRITE_ARCHIVE -> c.getWriteArchive().getSandboxId();
            case READ_ARCHIVE -> c.getReadArchive().getSandboxId();
            case SNAPSHOT -> c.getSnapshot().getSandboxId();
            default -> "";
        };
    }

    /** An allowlist as it reads in the configuration: {@code pypi.org:[443]}, {@code 10.0.0.0/8:[]} (any port). */
    private static List<String> rules(io.airlock.proto.v1.EgressPolicy egress) {
        return egress.getRulesList().stream()
                .map(r -> (r.hasDomain() ? r.getDomain() : r.getCidr()) + ":" + r.getPortsList()).toList();
    }

    private static String action(Command c) {
        return c.getActionCase().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static void path(Map<String, Object> f, String sandbox, String path) {
        f.put("sandbox_id", sandbox);
        f.put("path", path);
    }

    private Map<String, String> hashed(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((k, v) -> out.put(k, log.hashed(v)));
        return out;
    }
}
