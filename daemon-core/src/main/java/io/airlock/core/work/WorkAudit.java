package io.airlock.core.work;

import io.airlock.core.audit.AuditException;
import io.airlock.core.audit.AuditTrail;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the daemon records about work: one {@code command} record when it arrives (before it
 * runs: if that cannot be written, the work is refused) and one {@code command.result} when it
 * is done. Environment values are recorded as keyed hashes (they often carry secrets); file
 * contents never, only their size and SHA-256. The record names are those of audit-log.md.
 */
final class WorkAudit {
    private final AuditTrail trail;

    WorkAudit(AuditTrail trail) {
        this.trail = trail;
    }

    /** Records arriving work; throws {@link AuditException} when it cannot. */
    void received(WorkItem item) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("command_id", item.id());
        f.put("action", item.work().action());
        switch (item.work()) {
            case Work.Provision p -> {
                f.put("sandbox_id", p.sandboxId());
                f.put("driver", p.driver());
                f.put("image", p.image());
                f.put("snapshot", p.snapshot());
                f.put("template", p.template());
                f.put("limits", Map.of("memory_bytes", p.limits().memoryBytes(), "max_processes", p.limits().maxProcesses(),
                        "cpu_seconds", p.limits().cpuSeconds(), "workspace_bytes", p.limits().workspaceBytes()));
                f.put("env", hashed(p.env()));
                f.put("files", p.files().stream().map(Work.InitialFile::path).toList());
                if (p.egress() != null) {
                    f.put("egress", rules(p.egress()));
                }
            }
            case Work.UpdateEgress u -> {
                f.put("sandbox_id", u.sandboxId());
                f.put("egress", rules(u.egress()));
            }
            case Work.Exec x -> {
                f.put("sandbox_id", x.sandboxId());
                f.put("argv", List.copyOf(x.argv()));
                f.put("working_dir", x.workingDir());
                f.put("env", hashed(x.env()));
                f.put("tty", x.tty());
                f.put("stdin", x.stdin());
                if (x.resumeFromSeq() > 0) {
                    f.put("resume_from_seq", x.resumeFromSeq());
                }
            }
            case Work.WriteFile w -> path(f, w.sandboxId(), w.path());
            case Work.ReadFile r -> path(f, r.sandboxId(), r.path());
            case Work.ListFiles l -> path(f, l.sandboxId(), l.path());
            case Work.Stat st -> path(f, st.sandboxId(), st.path());
            case Work.WriteArchive w -> path(f, w.sandboxId(), w.path());
            case Work.ReadArchive r -> path(f, r.sandboxId(), r.path());
            case Work.Snapshot sn -> {
                f.put("sandbox_id", sn.sandboxId());
                f.put("snapshot", sn.name());
            }
            case Work.DeleteSnapshot d -> f.put("snapshot", d.name());
            case Work.Destroy w -> f.put("sandbox_id", w.sandboxId());
            case Work.Get w -> f.put("sandbox_id", w.sandboxId());
            case Work.Pause w -> f.put("sandbox_id", w.sandboxId());
            case Work.Resume w -> f.put("sandbox_id", w.sandboxId());
            case Work.ListSandboxes l -> { }
            case Work.ListSnapshots l -> { }
            case Work.McpExchange m -> { }
            case Work.Unknown u -> f.put("detail", u.description());
        }
        trail.append("command", f);
    }

    /** Records work's outcome. */
    void finished(WorkItem item, Outcome r, Duration took) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("command_id", item.id());
        f.put("action", item.work().action());
        f.put("outcome", r instanceof Outcome.Failed failed ? failed.error().name() : "OK");
        if (r instanceof Outcome.Failed failed) {
            f.put("message", failed.message());
        }
        f.put("duration_ms", took.toMillis());
        if (!item.work().sandboxId().isEmpty()) {
            f.put("sandbox_id", item.work().sandboxId()); // so that a query by sandbox finds every result about it
        }
        switch (r) {
            case Outcome.ExecDone x -> {
                f.put("exit_code", x.exitCode());
                f.put("timed_out", x.timedOut());
                f.put("output_truncated", x.outputTruncated());
                f.put("stdout_bytes", x.stdoutBytes());
                f.put("stderr_bytes", x.stderrBytes());
                f.put("exec_ms", x.durationMs());
            }
            case Outcome.FileDone file -> {
                f.put("path", file.path());
                f.put("size", file.size());
                f.put("sha256", file.sha256());
                if (file.entries() > 0) {
                    f.put("entries", file.entries());
                }
            }
            case Outcome.SandboxDone s -> {
                f.put("sandbox_id", s.sandbox().sandboxId());
                f.put("state", s.sandbox().state());
            }
            default -> { }
        }
        trail.append("command.result", f);
    }

    /** An allowlist as it reads in the configuration: {@code pypi.org:[443]}, {@code 10.0.0.0/8:[]} (any port). */
    private static List<String> rules(List<Work.RuleSpec> egress) {
        return egress.stream().map(Work.RuleSpec::toString).toList();
    }

    private static void path(Map<String, Object> f, String sandbox, String path) {
        f.put("sandbox_id", sandbox);
        f.put("path", path);
    }

    private Map<String, String> hashed(Map<String, String> env) {
        Map<String, String> out = new TreeMap<>();
        env.forEach((k, v) -> out.put(k, trail.hashed(v)));
        return out;
    }
}
