package io.airlock.connector.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.airlock.core.work.AgentEvent;
import io.airlock.core.work.Frame;
import io.airlock.core.work.Outcome;
import io.airlock.core.work.Work;
import io.airlock.core.work.WorkError;
import io.airlock.core.work.WorkItem;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DriverStatus;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.EgressRule;
import io.airlock.proto.v1.Empty;
import io.airlock.proto.v1.Error;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.Event;
import io.airlock.proto.v1.ExecFinished;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileChunk;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileEof;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.FileType;
import io.airlock.proto.v1.HttpResponseHead;
import io.airlock.proto.v1.ImagePull;
import io.airlock.proto.v1.McpExchangeResult;
import io.airlock.proto.v1.OomKill;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.OutputStream;
import io.airlock.proto.v1.PolicyDenied;
import io.airlock.proto.v1.SandboxEvent;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.SandboxState;
import io.airlock.proto.v1.SnapshotInfo;
import io.airlock.proto.v1.SnapshotList;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Between airlock.v1 and the core's work types, both ways. Decoding is structural only (which
 * action, which fields): the core validates values, so that a malformed one is audited and
 * refused naming its field, whatever carried it.
 */
public final class ProtoCodec {
    private ProtoCodec() {}

    /** A command as the core's work; an action this build does not know becomes {@link Work.Unknown}. */
    public static WorkItem work(Command c) {
        return new WorkItem(c.getCommandId(), c.getDeadlineMs(), action(c));
    }

    private static Work action(Command c) {
        return switch (c.getActionCase()) {
            case PROVISION -> {
                var p = c.getProvision();
                var l = p.getLimits();
                yield new Work.Provision(p.getSandboxId(), p.getDriver(), p.getImage(), p.getSnapshot(), p.getTemplate(),
                        new Work.Limits(l.getMemoryBytes(), l.getMaxProcesses(), l.getCpuSeconds(), l.getWorkspaceBytes()),
                        p.getEnvMap(), p.getLabelsMap(),
                        p.getFilesList().stream().map(f -> new Work.InitialFile(f.getPath(), f.getContent().toByteArray(), f.getMode())).toList(),
                        p.hasEgress() ? rules(p.getEgress()) : null);
            }
            case DESTROY -> new Work.Destroy(c.getDestroy().getSandboxId());
            case GET -> new Work.Get(c.getGet().getSandboxId());
            case LIST -> new Work.ListSandboxes();
            case UPDATE_EGRESS -> new Work.UpdateEgress(c.getUpdateEgress().getSandboxId(), rules(c.getUpdateEgress().getEgress()));
            case PAUSE -> new Work.Pause(c.getPause().getSandboxId());
            case RESUME -> new Work.Resume(c.getResume().getSandboxId());
            case EXEC -> {
                var x = c.getExec();
                yield new Work.Exec(x.getSandboxId(), x.getArgvList(), x.getEnvMap(), x.getWorkingDir(), x.getTimeoutMs(),
                        x.getOutputCapBytes(), x.getStdin(), x.getResumeFromSeq(), x.getTty(),
                        x.getTerminalSize().getColumns(), x.getTerminalSize().getRows());
            }
            case WRITE_FILE -> new Work.WriteFile(c.getWriteFile().getSandboxId(), c.getWriteFile().getPath(), c.getWriteFile().getMode());
            case READ_FILE -> new Work.ReadFile(c.getReadFile().getSandboxId(), c.getReadFile().getPath());
            case LIST_FILES -> new Work.ListFiles(c.getListFiles().getSandboxId(), c.getListFiles().getPath(), c.getListFiles().getRecursive());
            case WRITE_ARCHIVE -> new Work.WriteArchive(c.getWriteArchive().getSandboxId(), c.getWriteArchive().getPath());
            case READ_ARCHIVE -> new Work.ReadArchive(c.getReadArchive().getSandboxId(), c.getReadArchive().getPath());
            case STAT -> new Work.Stat(c.getStat().getSandboxId(), c.getStat().getPath());
            case SNAPSHOT -> new Work.Snapshot(c.getSnapshot().getSandboxId(), c.getSnapshot().getName());
            case DELETE_SNAPSHOT -> new Work.DeleteSnapshot(c.getDeleteSnapshot().getName(), c.getDeleteSnapshot().getDriver());
            case LIST_SNAPSHOTS -> new Work.ListSnapshots(c.getListSnapshots().getDriver());
            case MCP -> {
                var m = c.getMcp();
                var caller = m.getCaller();
                yield new Work.McpExchange(m.getServer(), m.getMethod(), m.getHeadersMap(),
                        new Work.McpExchange.Caller(caller.getUser(), caller.getAgent(), caller.getSession()),
                        m.getBody().toByteArray(), m.getBodyOnStream(), m.getPublicUrl(), m.getResourceMetadata());
            }
            case ACTION_NOT_SET -> new Work.Unknown("command has no action");
        };
    }

    private static List<Work.RuleSpec> rules(EgressPolicy policy) {
        return policy.getRulesList().stream().map(r -> new Work.RuleSpec(r.hasDomain() ? r.getDomain() : "",
                r.hasCidr() ? r.getCidr() : "", r.getPortsList())).toList();
    }

    public static CommandResult result(String commandId, Outcome outcome) {
        CommandResult.Builder r = CommandResult.newBuilder().setCommandId(commandId);
        switch (outcome) {
            case Outcome.Failed f -> r.setError(Error.newBuilder().setCode(code(f.error())).setMessage(f.message()));
            case Outcome.SandboxDone s -> r.setSandbox(sandbox(s.sandbox()));
            case Outcome.Sandboxes s -> r.setSandboxes(SandboxList.newBuilder().addAllSandboxes(s.sandboxes().stream().map(ProtoCodec::sandbox).toList()));
            case Outcome.Destroyed d -> r.setDestroyed(Empty.getDefaultInstance());
            case Outcome.ExecDone x -> r.setExec(exec(x));
            case Outcome.FileDone f -> r.setFile(FileResult.newBuilder().setPath(f.path()).setSize(f.size()).setSha256(f.sha256()).setEntries(f.entries()));
            case Outcome.Files f -> r.setFiles(FileList.newBuilder().addAllEntries(f.entries().stream().map(ProtoCodec::file).toList()));
            case Outcome.StatDone s -> r.setStat(file(s.entry()));
            case Outcome.SnapshotDone s -> r.setSnapshot(snapshot(s.snapshot()));
            case Outcome.Snapshots s -> r.setSnapshots(SnapshotList.newBuilder().addAllSnapshots(s.snapshots().stream().map(ProtoCodec::snapshot).toList()));
            case Outcome.SnapshotDeleted d -> r.setSnapshotDeleted(Empty.getDefaultInstance());
            case Outcome.McpDone m -> r.setMcp(McpExchangeResult.newBuilder().setStatus(m.status()).setRequestBytes(m.requestBytes())
                    .setResponseBytes(m.responseBytes()));
        }
        return r.build();
    }

    public static Event event(AgentEvent e) {
        Event.Builder b = Event.newBuilder().setAtMs(System.currentTimeMillis());
        switch (e) {
            case AgentEvent.SandboxChanged s -> b.setSandbox(SandboxEvent.newBuilder().setSandboxId(s.sandboxId())
                    .setState(SandboxState.valueOf(s.state())).setReason(s.reason()));
            case AgentEvent.ExecFinished x -> b.setExecFinished(ExecFinished.newBuilder().setCommandId(x.workId())
                    .setSandboxId(x.sandboxId()).setResult(exec(x.result())));
            case AgentEvent.PolicyDenied p -> b.setPolicyDenied(PolicyDenied.newBuilder().setCommandId(p.workId()).setRule(p.rule())
                    .setMessage(p.message()));
            case AgentEvent.OomKill o -> b.setOomKill(OomKill.newBuilder().setSandboxId(o.sandboxId()).setDetail(o.detail()));
            case AgentEvent.ImagePull p -> b.setImagePull(ImagePull.newBuilder().setSandboxId(p.sandboxId()).setImage(p.image())
                    .setLayer(p.layer()).setStatus(p.status()).setCurrentBytes(p.currentBytes()).setTotalBytes(p.totalBytes()));
            case AgentEvent.DriverStatus d -> b.setDriverStatus(DriverStatus.newBuilder().setDriver(d.driver()).setAvailable(d.available())
                    .setReason(d.reason()));
        }
        return b.build();
    }

    /** A frame from the control plane, or null for one that only the agent sends (refused by the caller). */
    public static Frame inbound(DataFrame f) {
        return switch (f.getBodyCase()) {
            case STDIN -> new Frame.Stdin(f.getStdin().getData().toByteArray());
            case STDIN_EOF -> new Frame.StdinEof();
            case FILE_CHUNK -> new Frame.Chunk(f.getFileChunk().getData().toByteArray());
            case FILE_EOF -> new Frame.Eof();
            case RESIZE -> new Frame.Resize(f.getResize().getColumns(), f.getResize().getRows());
            case SIGNAL -> new Frame.Signal(f.getSignal().getSignal().name());
            default -> null;
        };
    }

    public static DataFrame outbound(Frame frame) {
        DataFrame.Builder b = DataFrame.newBuilder();
        switch (frame) {
            case Frame.Output o -> b.setOutput(OutputChunk.newBuilder().setSeq(o.seq())
                    .setStream(o.stderr() ? OutputStream.STDERR : OutputStream.STDOUT).setData(UnsafeByteOperations.unsafeWrap(o.data())));
            // A frame's array is its own (made for it, never written after): wrapped, not copied again.
            case Frame.Chunk c -> b.setFileChunk(FileChunk.newBuilder().setData(UnsafeByteOperations.unsafeWrap(c.data())));
            case Frame.Eof e -> b.setFileEof(FileEof.getDefaultInstance());
            case Frame.Body p -> b.setFileChunk(FileChunk.newBuilder().setData(wrap(p.pieces())));
            case Frame.HttpHead h -> b.setHttpHead(HttpResponseHead.newBuilder().setStatus(h.status()).putAllHeaders(h.headers())
                    .setBody(wrap(h.body())).setEnd(h.end()));
            case Frame.Error e -> b.setError(Error.newBuilder().setCode(code(e.error())).setMessage(e.message()));
            case Frame.Stdin s -> throw new IllegalArgumentException("stdin is sent by the control plane, not the agent");
            case Frame.StdinEof s -> throw new IllegalArgumentException("stdin is sent by the control plane, not the agent");
            case Frame.Resize r -> throw new IllegalArgumentException("resize is sent by the control plane, not the agent");
            case Frame.Signal s -> throw new IllegalArgumentException("signals are sent by the control plane, not the agent");
        }
        return b.build();
    }

    /**
     * The frame's buffers as one ByteString, referenced, not copied (protobuf copies only pieces
     * under 128 bytes when joining); gRPC copies once, as it frames the message.
     */
    private static ByteString wrap(List<ByteBuffer> pieces) {
        ByteString all = ByteString.EMPTY;
        for (ByteBuffer p : pieces) {
            all = all.concat(UnsafeByteOperations.unsafeWrap(p));
        }
        return all;
    }

    public static SandboxInfo sandbox(Outcome.SandboxView s) {
        EgressPolicy.Builder egress = EgressPolicy.newBuilder();
        for (Work.RuleSpec r : s.egress()) {
            EgressRule.Builder b = EgressRule.newBuilder().addAllPorts(r.ports());
            if (!r.domain().isEmpty()) {
                b.setDomain(r.domain());
            } else {
                b.setCidr(r.cidr());
            }
            egress.addRules(b);
        }
        return SandboxInfo.newBuilder().setSandboxId(s.sandboxId()).setDriver(s.driver()).setState(SandboxState.valueOf(s.state()))
                .setCreatedAtMs(s.createdAtMs()).putAllLabels(s.labels()).setEgress(egress).build();
    }

    private static ExecResult exec(Outcome.ExecDone x) {
        return ExecResult.newBuilder().setExitCode(x.exitCode()).setTimedOut(x.timedOut()).setOutputTruncated(x.outputTruncated())
                .setStdoutBytes(x.stdoutBytes()).setStderrBytes(x.stderrBytes()).setDurationMs(x.durationMs()).build();
    }

    private static FileEntry file(Outcome.FileView f) {
        return FileEntry.newBuilder().setPath(f.path()).setType(FileType.valueOf(f.type())).setSize(f.size())
                .setModifiedAtMs(f.modifiedAtMs()).build();
    }

    private static SnapshotInfo snapshot(Outcome.SnapshotView s) {
        return SnapshotInfo.newBuilder().setName(s.name()).setSourceSandboxId(s.sourceSandboxId()).setCreatedAtMs(s.createdAtMs())
                .setSizeBytes(s.sizeBytes()).setDriver(s.driver()).build();
    }

    /** The core's errors carry the protocol's names one to one. */
    public static ErrorCode code(WorkError error) {
        return ErrorCode.valueOf(error.name());
    }
}
