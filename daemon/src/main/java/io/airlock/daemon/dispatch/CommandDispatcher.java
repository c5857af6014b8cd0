package io.airlock.daemon.dispatch;

import io.airlock.daemon.connector.ControlConnection;
import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.TerminalSize;
import io.airlock.driver.FileEntry;
import io.airlock.driver.Sandbox;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.Empty;
import io.airlock.proto.v1.Error;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.Event;
import io.airlock.proto.v1.ExecFinished;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileType;
import io.airlock.proto.v1.PolicyDenied;
import io.airlock.core.egress.EgressRule;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.SandboxState;
import io.airlock.proto.v1.StartExec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs commands from the control plane. Each command runs on its own virtual thread, at most
 * {@code policy.max_concurrent_commands} at once; a repeated command id gets the first
 * command's result; while draining, new commands are refused with DRAINING.
 */
public final class CommandDispatcher implements ControlConnection.CommandSink {
    private static final Logger log = LoggerFactory.getLogger(CommandDispatcher.class);

    private final SandboxService sandboxes;
    private volatile io.airlock.daemon.dispatch.CommandAudit audit;
    /** How long a command id is remembered (here and, for commands with effects, across restarts in the journal). */
    public static final Duration LEDGER_RETENTION = Duration.ofHours(1);
    private final CommandLedger ledger = new CommandLedger(10_000, LEDGER_RETENTION);
    private final CommandJournal journal;
    private final Semaphore slots;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile ControlConnection connection;
    private volatile DataStreamBridge data;
    private volatile boolean draining;
    private volatile io.airlock.tunnel.mcp.McpTunnel tunnel;
    private volatile Semaphore exchanges = new Semaphore(0);
    private volatile int maxExchanges;

    /** @param journal where commands with effects are remembered across restarts; what it recovered answers repeats */
    public CommandDispatcher(SandboxService sandboxes, CommandJournal journal) {
        this.sandboxes = sandboxes;
        this.journal = journal;
        this.slots = new Semaphore(sandboxes.policy().maxConcurrentCommands());
        journal.recovered().forEach((id, result) -> ledger.putIfAbsent(id, CompletableFuture.completedFuture(result)));
    }

    /**
     * Serves McpExchange commands with {@code tunnel}, at most {@code maxExchanges} at once. They
     * do not take command slots (an MCP session keeps a GET stream open for its whole life) and
     * leave the tunnel's own audit records instead of command records.
     */
    public void mcp(io.airlock.tunnel.mcp.McpTunnel tunnel, int maxExchanges) {
        this.exchanges = new Semaphore(maxExchanges);
        this.maxExchanges = maxExchanges;
        this.tunnel = tunnel;
    }

    /** Wires the connection results and events go to (it is created after the dispatcher). */
    public void attach(ControlConnection connection) {
        this.connection = connection;
        this.data = new DataStreamBridge(connection);
    }

    @Override
    public int inFlight() {
        return inFlight.get();
    }

    /** Refuse new commands from now on (first SIGTERM). */
    public void startDraining() {
        draining = true;
    }

    /** Waits until no command is running, at most {@code max}; true if idle. */
    public boolean awaitIdle(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    @Override
    public void onCommand(Command command) {
        String id = command.getCommandId();
        if (id.isEmpty()) {
            reply(error(command, ErrorCode.INVALID_ARGUMENT, "command_id is empty (expected: a unique id chosen by the control plane)"));
            return;
        }
        CompletableFuture<CommandResult> fresh = new CompletableFuture<>();
        CompletableFuture<CommandResult> earlier = ledger.putIfAbsent(id, fresh);
        boolean mcp = command.getActionCase() == Command.ActionCase.MCP;
        if (earlier == null && audit != null && !mcp) {
            try {
                audit.received(command);
            } catch (io.airlock.core.audit.AuditException e) {
                // Nothing runs unrecorded.
                log.error("refusing command {}: {}", id, e.getMessage());
                ledger.forget(id);
                reply(error(command, ErrorCode.UNAVAILABLE, "the agent cannot write its audit log, so it runs nothing; see the agent's log"));
                return;
            }
        }
        log.debug("command {} ({}) received", id, command.getActionCase());
        long startedNanos = System.nanoTime();
        if (earlier != null) {
            log.debug("command {} seen before; answering with its first result", id);
            if (command.hasExec() && !earlier.isDone() && data != null) {
                // The control plane lost the exec's Data stream (a reconnect): give it a new one.
                data.reattach(id, command.getExec().getResumeFromSeq(), deadline(command));
            }
            earlier.thenAccept(this::reply);
            return;
        }
        CommandResult refusal = admission(command);
        if (refusal != null) {
            ledger.forget(id);
            fresh.complete(refusal);
            recordResult(command, refusal, startedNanos);
            reply(refusal);
            return;
        }
        Semaphore held = mcp ? exchanges : slots;
        boolean journalled = CommandJournal.hasEffects(command);
        if (journalled) {
            try {
                journal.started(command);
            } catch (java.io.IOException e) {
                // Unjournalled, a repeat after a restart could run it twice: refuse instead.
                log.error("refusing command {}: cannot journal it: {}", id, e.toString());
                held.release();
                ledger.forget(id);
                CommandResult refused = error(command, ErrorCode.UNAVAILABLE, "the agent cannot write its command journal in its state "
                        + "directory, so it runs nothing with effects; see the agent's log");
                fresh.complete(refused);
                recordResult(command, refused, startedNanos);
                reply(refused);
                return;
            }
        }
        inFlight.incrementAndGet();
        Thread.ofVirtual().name("command-" + id).start(() -> {
            try {
                CommandResult result = execute(command);
                if (journalled) {
                    journal.finished(command, result);
                }
                fresh.complete(result);
                if (mcp) {
                    resultObservers.forEach(o -> o.accept(command, result));
                } else {
                    recordResult(command, result, startedNanos);
                }
                reply(result);
            } finally {
                held.release();
                inFlight.decrementAndGet();
            }
        });
    }

    /** Records the outcome; a failure to do so is logged (the command has already run). */
    private void recordResult(Command command, CommandResult result, long startedNanos) {
        resultObservers.forEach(o -> o.accept(command, result));
        if (audit == null) {
            return;
        }
        try {
            audit.finished(command, result, java.time.Duration.ofNanos(System.nanoTime() - startedNanos));
        } catch (io.airlock.core.audit.AuditException e) {
            log.error("the outcome of command {} could not be audited: {}", command.getCommandId(), e.getMessage());
        }
    }

    private final java.util.List<java.util.function.BiConsumer<Command, CommandResult>> resultObservers =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    /** Called with every command's result (metrics). */
    public void onResult(java.util.function.BiConsumer<Command, CommandResult> observer) {
        resultObservers.add(observer);
    }

    /** Where commands and their outcomes are recorded; set once at start. */
    public void audit(io.airlock.daemon.dispatch.CommandAudit audit) {
        this.audit = audit;
    }

    /** Records something that happened (connections, lifecycle); failures are logged. */
    public void record(String type, java.util.Map<String, ?> fields) {
        if (audit == null) {
            return;
        }
        try {
            audit.log().append(type, fields);
        } catch (io.airlock.core.audit.AuditException e) {
            if (audit.log().isClosed()) {
                log.debug("not audited after the stop: {} {}", type, fields);
            } else {
                log.error("cannot audit {}: {}", type, e.getMessage());
            }
        }
    }

    /** A result for commands that must not run now (they are not remembered, so a retry can run), or null. */
    private CommandResult admission(Command command) {
        if (draining) {
            return error(command, ErrorCode.DRAINING, "this agent is shutting down and takes no new work; send it to another agent");
        }
        if (command.getDeadlineMs() > 0 && command.getDeadlineMs() <= System.currentTimeMillis()) {
            return error(command, ErrorCode.DEADLINE_EXCEEDED, "the command arrived after its deadline ("
                    + java.time.Instant.ofEpochMilli(command.getDeadlineMs()) + ")");
        }
        if (command.getActionCase() == Command.ActionCase.ACTION_NOT_SET) {
            return error(command, ErrorCode.INVALID_ARGUMENT, "command has no action (expected one of provision, destroy, get, list, exec, "
                    + "write_file, read_file, list_files, pause, resume); is the control plane newer than this agent?");
        }
        if (command.getActionCase() == Command.ActionCase.MCP) {
            if (tunnel == null) {
                return error(command, ErrorCode.FAILED_PRECONDITION, "this agent has no MCP servers (mcp.servers is empty in its configuration)");
            }
            if (!exchanges.tryAcquire()) {
                return error(command, ErrorCode.RESOURCE_EXHAUSTED, "mcp.max_exchanges (" + maxExchanges
                        + ") MCP exchanges are already under way; retry when one is done");
            }
            return null;
        }
        if (!slots.tryAcquire()) {
            return error(command, ErrorCode.RESOURCE_EXHAUSTED, "policy.max_concurrent_commands ("
                    + sandboxes.policy().maxConcurrentCommands() + ") commands are already running");
        }
        return null;
    }

    private void reply(CommandResult result) {
        ControlConnection c = connection;
        if (c != null) {
            c.send(AgentMessage.newBuilder().setResult(result).build());
        }
    }

    private void event(Event.Builder event) {
        ControlConnection c = connection;
        if (c != null) {
            c.send(AgentMessage.newBuilder().setEvent(event.setAtMs(System.currentTimeMillis())).build());
        }
    }

    /** The sandbox a command works in (not provision or destroy), or null. */
    private static String sandboxOf(Command command) {
        return switch (command.getActionCase()) {
            case GET -> command.getGet().getSandboxId();
            case UPDATE_EGRESS -> command.getUpdateEgress().getSandboxId();
            case EXEC -> command.getExec().getSandboxId();
            case WRITE_FILE -> command.getWriteFile().getSandboxId();
            case READ_FILE -> command.getReadFile().getSandboxId();
            case LIST_FILES -> command.getListFiles().getSandboxId();
            case WRITE_ARCHIVE -> command.getWriteArchive().getSandboxId();
            case READ_ARCHIVE -> command.getReadArchive().getSandboxId();
            case STAT -> command.getStat().getSandboxId();
            case SNAPSHOT -> command.getSnapshot().getSandboxId();
            default -> null;
        };
    }

    private CommandResult execute(Command command) {
        String sandbox = sandboxOf(command);
        if (sandbox == null || sandbox.isEmpty()) {
            return run(command);
        }
        try (SandboxService.InUse inUse = sandboxes.use(sandbox)) {
            return run(command);
        }
    }

    private CommandResult run(Command command) {
        CommandResult.Builder result = CommandResult.newBuilder().setCommandId(command.getCommandId());
        try {
            switch (command.getActionCase()) {
                case PROVISION -> {
                    var p = command.getProvision();
                    if (!p.getImage().isEmpty() && !p.getSnapshot().isEmpty()) {
                        throw new CommandException(ErrorCode.INVALID_ARGUMENT, "provision: both image '" + p.getImage() + "' and snapshot '"
                                + p.getSnapshot() + "' are set (expected: at most one)");
                    }
                    String image = p.getSnapshot().isEmpty() ? p.getImage() : io.airlock.driver.Snapshot.IMAGE_PREFIX + p.getSnapshot();
                    var l = p.getLimits();
                    if (l.getMemoryBytes() < 0 || l.getMaxProcesses() < 0 || l.getCpuSeconds() < 0 || l.getWorkspaceBytes() < 0) {
                        throw new CommandException(ErrorCode.INVALID_ARGUMENT, "provision: limits must not be negative (got " + l + ")");
                    }
                    String driver = p.getDriver();
                    if (!p.getSnapshot().isEmpty() && driver.isEmpty()) {
                        // A snapshot belongs to its driver: start the sandbox there, whatever the default driver is.
                        driver = sandboxes.snapshotDriver("", p.getSnapshot()).map(SandboxDriver::name)
                                .orElseThrow(() -> new CommandException(ErrorCode.NOT_FOUND, "provision: no snapshot '" + p.getSnapshot()
                                        + "' on this agent (list them with ListSnapshots)"));
                    }
                    Sandbox s = sandboxes.provision(p.getSandboxId(), driver, image, p.getTemplate(),
                            new io.airlock.driver.ResourceLimits(l.getMemoryBytes(), l.getMaxProcesses(), l.getCpuSeconds(), l.getWorkspaceBytes()),
                            p.getEnvMap(), p.getLabelsMap(),
                            p.getFilesList().stream().map(f -> new SandboxService.InitialFile(f.getPath(), f.getContent().toByteArray(), f.getMode()))
                                    .toList(), egressRules("provision.egress", p.getEgress()));
                    result.setSandbox(info(s));
                }
                case DESTROY -> {
                    sandboxes.destroy(command.getDestroy().getSandboxId());
                    result.setDestroyed(Empty.getDefaultInstance());
                }
                case GET -> result.setSandbox(info(sandboxes.locate(command.getGet().getSandboxId()).sandbox()));
                case UPDATE_EGRESS -> {
                    var u = command.getUpdateEgress();
                    sandboxes.updateEgress(u.getSandboxId(), egressRules("update_egress.egress", u.getEgress()));
                    result.setSandbox(info(sandboxes.locate(u.getSandboxId()).sandbox()));
                }
                case PAUSE -> result.setSandbox(info(sandboxes.setPaused(command.getPause().getSandboxId(), true)));
                case RESUME -> result.setSandbox(info(sandboxes.setPaused(command.getResume().getSandboxId(), false)));
                case LIST -> {
                    SandboxList.Builder list = SandboxList.newBuilder();
                    sandboxes.list().forEach(s -> list.addSandboxes(info(s)));
                    result.setSandboxes(list);
                }
                case EXEC -> result.setExec(exec(command));
                case WRITE_FILE -> {
                    var w = command.getWriteFile();
                    var located = sandboxes.locate(w.getSandboxId());
                    result.setFile(data.writeFile(command.getCommandId(), deadline(command), located.driver(), w.getSandboxId(),
                            w.getPath(), w.getMode(), sandboxes.policy().maxFileBytes()));
                }
                case READ_FILE -> {
                    var r = command.getReadFile();
                    var located = sandboxes.locate(r.getSandboxId());
                    result.setFile(data.readFile(command.getCommandId(), deadline(command), located.driver(), r.getSandboxId(), r.getPath()));
                }
                case LIST_FILES -> {
                    var l = command.getListFiles();
                    var located = sandboxes.locate(l.getSandboxId());
                    FileList.Builder files = FileList.newBuilder();
                    for (FileEntry e : located.driver().listFiles(l.getSandboxId(), l.getPath(), l.getRecursive())) {
                        files.addEntries(entry(e));
                    }
                    result.setFiles(files);
                }
                case SNAPSHOT -> {
                    var sn = command.getSnapshot();
                    var located = sandboxes.locate(sn.getSandboxId());
                    result.setSnapshot(snapshotInfo(located.driver().snapshot(sn.getSandboxId(), sn.getName()), located.driver().name()));
                }
                case DELETE_SNAPSHOT -> {
                    var d = command.getDeleteSnapshot();
                    // Deleting a snapshot no driver has is not an error (idempotent).
                    var holder = sandboxes.snapshotDriver(d.getDriver(), d.getName());
                    if (holder.isPresent()) {
                        holder.get().deleteSnapshot(d.getName());
                    }
                    result.setSnapshotDeleted(Empty.getDefaultInstance());
                }
                case LIST_SNAPSHOTS -> {
                    var list = io.airlock.proto.v1.SnapshotList.newBuilder();
                    for (var ds : sandboxes.snapshots(command.getListSnapshots().getDriver())) {
                        list.addSnapshots(snapshotInfo(ds.snapshot(), ds.driver().name()));
                    }
                    result.setSnapshots(list);
                }
                case STAT -> {
                    var st = command.getStat();
                    result.setStat(entry(sandboxes.locate(st.getSandboxId()).driver().stat(st.getSandboxId(), st.getPath())));
                }
                case WRITE_ARCHIVE -> {
                    var w = command.getWriteArchive();
                    var located = sandboxes.locate(w.getSandboxId());
                    result.setFile(data.writeArchive(command.getCommandId(), deadline(command), located.driver(), w.getSandboxId(),
                            w.getPath(), sandboxes.policy().maxFileBytes()));
                }
                case READ_ARCHIVE -> {
                    var r = command.getReadArchive();
                    var located = sandboxes.locate(r.getSandboxId());
                    result.setFile(data.readArchive(command.getCommandId(), deadline(command), located.driver(), r.getSandboxId(), r.getPath()));
                }
                case MCP -> result.setMcp(data.mcp(command.getCommandId(), deadline(command), tunnel, command.getMcp()));
                default -> throw new CommandException(ErrorCode.INVALID_ARGUMENT, "unknown action " + command.getActionCase());
            }
        } catch (PolicyDeniedException e) {
            record("policy.denied", java.util.Map.of("command_id", command.getCommandId(), "rule", e.rule(), "message", e.getMessage()));
            log.info("command {} denied by {}: {}", command.getCommandId(), e.rule(), e.getMessage());
            event(Event.newBuilder().setPolicyDenied(PolicyDenied.newBuilder().setCommandId(command.getCommandId())
                    .setRule(e.rule()).setMessage(e.getMessage())));
            return error(command, ErrorCode.POLICY_DENIED, e.getMessage());
        } catch (DriverException e) {
            return error(command, code(e.kind()), e.getMessage());
        } catch (CommandException e) {
            return error(command, e.code(), e.getMessage());
        } catch (IllegalArgumentException e) {
            return error(command, ErrorCode.INVALID_ARGUMENT, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(command, ErrorCode.UNAVAILABLE, "the agent is shutting down");
        } catch (RuntimeException e) {
            log.error("command {} failed unexpectedly", command.getCommandId(), e);
            return error(command, ErrorCode.INTERNAL, "unexpected failure (" + e.getClass().getSimpleName() + "); see the agent's log");
        }
        return result.build();
    }

    private ExecResult exec(Command command) throws DriverException, PolicyDeniedException, CommandException, InterruptedException {
        StartExec x = command.getExec();
        var located = sandboxes.locate(x.getSandboxId());
        Duration timeout = sandboxes.policy().execTimeout(x.getTimeoutMs(), command.getDeadlineMs(), System.currentTimeMillis());
        long cap = sandboxes.policy().outputCap(x.getOutputCapBytes());
        ExecSpec spec = new ExecSpec(x.getArgvList(), x.getEnvMap(), x.getWorkingDir(), timeout, cap, x.getStdin(), terminal(x));
        ExecResult r = data.exec(command.getCommandId(), deadline(command), located.driver(), x.getSandboxId(), spec);
        event(Event.newBuilder().setExecFinished(ExecFinished.newBuilder().setCommandId(command.getCommandId())
                .setSandboxId(x.getSandboxId()).setResult(r)));
        return r;
    }

    private static io.airlock.proto.v1.SnapshotInfo snapshotInfo(io.airlock.driver.Snapshot s, String driver) {
        return io.airlock.proto.v1.SnapshotInfo.newBuilder().setName(s.name()).setSourceSandboxId(s.sourceSandboxId())
                .setCreatedAtMs(s.createdAt().toEpochMilli()).setSizeBytes(s.sizeBytes()).setDriver(driver).build();
    }

    private static io.airlock.proto.v1.FileEntry entry(FileEntry e) {
        return io.airlock.proto.v1.FileEntry.newBuilder().setPath(e.path()).setType(FileType.valueOf(e.type().name())).setSize(e.size())
                .setModifiedAtMs(e.modifiedAt().toEpochMilli()).build();
    }

    private static TerminalSize terminal(StartExec x) {
        if (!x.getTty()) {
            return null;
        }
        var size = x.getTerminalSize();
        if (size.getColumns() == 0 && size.getRows() == 0) {
            return TerminalSize.DEFAULT;
        }
        return DataStreamBridge.terminalSize(size);
    }

    /** The command's deadline, or an hour from now when it set none. */
    private static long deadline(Command command) {
        return command.getDeadlineMs() > 0 ? command.getDeadlineMs() : System.currentTimeMillis() + TimeUnit.HOURS.toMillis(1);
    }

    /** Lifecycle events for the control plane. */
    public void sandboxChanged(Sandbox sandbox, io.airlock.driver.SandboxState state, String reason) {
        record("sandbox", java.util.Map.of("sandbox_id", sandbox.id(), "driver", sandbox.driver(), "state", state.name(), "reason", reason));
        event(Event.newBuilder().setSandbox(io.airlock.proto.v1.SandboxEvent.newBuilder()
                .setSandboxId(sandbox.id()).setState(SandboxState.valueOf(state.name())).setReason(reason)));
    }

    /** Something a driver noticed about a sandbox (e.g. an OOM kill). */
    public void driverEvent(io.airlock.driver.DriverEvent e) {
        switch (e.kind()) {
            case OOM_KILL -> {
                log.info("sandbox {}: {}", e.sandboxId(), e.detail());
                event(Event.newBuilder().setOomKill(io.airlock.proto.v1.OomKill.newBuilder().setSandboxId(e.sandboxId()).setDetail(e.detail())));
            }
            case IMAGE_PULL -> {
                var p = e.pull();
                event(Event.newBuilder().setImagePull(io.airlock.proto.v1.ImagePull.newBuilder().setSandboxId(e.sandboxId())
                        .setImage(p.image()).setLayer(p.layer()).setStatus(p.status()).setCurrentBytes(p.current()).setTotalBytes(p.total())));
            }
        }
    }

    /** A driver went down or came back. */
    public void driverChanged(String driver, boolean available, String reason) {
        log.info("driver {} is {}{}", driver, available ? "available again" : "unavailable", available ? "" : ": " + reason);
        event(Event.newBuilder().setDriverStatus(io.airlock.proto.v1.DriverStatus.newBuilder()
                .setDriver(driver).setAvailable(available).setReason(reason)));
    }

    public SandboxInfo info(Sandbox s) {
        io.airlock.proto.v1.EgressPolicy.Builder egress = io.airlock.proto.v1.EgressPolicy.newBuilder();
        for (EgressRule r : sandboxes.egressOf(s.id()).rules()) {
            io.airlock.proto.v1.EgressRule.Builder b = io.airlock.proto.v1.EgressRule.newBuilder();
            if (r.domain() != null) {
                b.setDomain(r.domain());
            } else {
                b.setCidr(r.cidr().toString());
            }
            r.ports().stream().sorted().forEach(b::addPorts);
            egress.addRules(b);
        }
        return SandboxInfo.newBuilder()
                .setSandboxId(s.id())
                .setDriver(s.driver())
                .setState(SandboxState.valueOf(s.state().name()))
                .setCreatedAtMs(s.createdAt().toEpochMilli())
                .putAllLabels(s.labels())
                .setEgress(egress)
                .build();
    }

    /** The wire's rules as the daemon's, each malformed one refused naming its field. */
    static List<EgressRule> egressRules(String field, io.airlock.proto.v1.EgressPolicy policy) throws CommandException {
        List<EgressRule> rules = new java.util.ArrayList<>();
        for (int i = 0; i < policy.getRulesCount(); i++) {
            var r = policy.getRules(i);
            try {
                java.util.Set<Integer> ports = new java.util.HashSet<>(r.getPortsList());
                rules.add(switch (r.getTargetCase()) {
                    case DOMAIN -> EgressRule.domain(r.getDomain(), ports);
                    case CIDR -> EgressRule.cidr(r.getCidr(), ports);
                    case TARGET_NOT_SET -> throw new IllegalArgumentException("names neither a domain nor a cidr (expected one)");
                });
            } catch (IllegalArgumentException e) {
                throw new CommandException(ErrorCode.INVALID_ARGUMENT, field + ".rules[" + i + "]: " + e.getMessage());
            }
        }
        return rules;
    }

    static ErrorCode code(DriverException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> ErrorCode.INVALID_ARGUMENT;
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case FAILED_PRECONDITION -> ErrorCode.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> ErrorCode.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> ErrorCode.UNAVAILABLE;
            case UNIMPLEMENTED -> ErrorCode.UNIMPLEMENTED;
            case INTERNAL -> ErrorCode.INTERNAL;
        };
    }

    private static CommandResult error(Command command, ErrorCode code, String message) {
        return CommandResult.newBuilder().setCommandId(command.getCommandId())
                .setError(Error.newBuilder().setCode(code).setMessage(message)).build();
    }
}
