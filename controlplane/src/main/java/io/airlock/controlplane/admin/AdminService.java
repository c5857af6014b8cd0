package io.airlock.controlplane.admin;

import com.google.protobuf.ByteString;
import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.admin.v1.Agent;
import io.airlock.controlplane.admin.v1.AgentRef;
import io.airlock.controlplane.admin.v1.ControlPlaneAdminGrpc;
import io.airlock.controlplane.admin.v1.CopyInChunk;
import io.airlock.controlplane.admin.v1.CopyInHeader;
import io.airlock.controlplane.admin.v1.CopyOutChunk;
import io.airlock.controlplane.admin.v1.CopyOutRequest;
import io.airlock.controlplane.admin.v1.CreateJoinTokenRequest;
import io.airlock.controlplane.admin.v1.CreateJoinTokenResponse;
import io.airlock.controlplane.admin.v1.DeleteSnapshotRequest;
import io.airlock.controlplane.admin.v1.EventsResponse;
import io.airlock.controlplane.admin.v1.ExecEvent;
import io.airlock.controlplane.admin.v1.ExecRequest;
import io.airlock.controlplane.admin.v1.ListAgentsRequest;
import io.airlock.controlplane.admin.v1.ListAgentsResponse;
import io.airlock.controlplane.admin.v1.ListFilesRequest;
import io.airlock.controlplane.admin.v1.ProvisionRequest;
import io.airlock.controlplane.admin.v1.RecordedEvent;
import io.airlock.controlplane.admin.v1.SandboxRef;
import io.airlock.controlplane.admin.v1.SnapshotRequest;
import io.airlock.controlplane.admin.v1.StatRequest;
import io.airlock.controlplane.admin.v1.UpdateEgressRequest;
import io.airlock.controlplane.gateway.AgentRegistry;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.proto.support.JoinToken;
import io.airlock.proto.support.ReadyGate;
import io.airlock.proto.v1.Empty;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.ReadArchive;
import io.airlock.proto.v1.ReadFile;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.SnapshotInfo;
import io.airlock.proto.v1.SnapshotList;
import io.airlock.proto.v1.WriteArchive;
import io.airlock.proto.v1.WriteFile;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * The admin API over {@link io.airlock.controlplane.gateway.AgentClient}. Agent calls block, so
 * each runs on a virtual thread rather than on a gRPC executor thread.
 */
public final class AdminService extends ControlPlaneAdminGrpc.ControlPlaneAdminImplBase {
    static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
    static final long MAX_UPLOAD = 1L << 30;
    static final int MAX_INLINE_STDIN = 4 << 20;

    private final ControlPlaneServer cp;

    public AdminService(ControlPlaneServer cp) {
        this.cp = cp;
    }

    @FunctionalInterface
    private interface Call<T> {
        T run() throws Exception;
    }

    /**
     * Runs {@code call} on a virtual thread in the call's context. When the caller gives up (it
     * went away, or its deadline passed) the thread is interrupted: a command still waiting for
     * its agent is dropped then, so nothing runs after its caller stopped waiting.
     */
    private static <T> void async(StreamObserver<T> out, Call<T> call) {
        Context context = Context.current();
        Thread worker = Thread.ofVirtual().unstarted(context.wrap(() -> {
            try {
                T value = call.run();
                if (value != null) {
                    out.onNext(value);
                }
                out.onCompleted();
            } catch (Exception e) {
                if (!context.isCancelled()) {
                    out.onError(AdminCalls.answer(status(e)));
                }
            }
        }));
        context.addListener(c -> worker.interrupt(), Runnable::run);
        worker.start();
    }

    static Status status(Throwable e) {
        if (e instanceof CommandFailedException c) {
            Status base = switch (c.error().getCode()) {
                case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                case NOT_FOUND -> Status.NOT_FOUND;
                case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
                case POLICY_DENIED -> Status.PERMISSION_DENIED;
                case UNAVAILABLE, DRAINING -> Status.UNAVAILABLE;
                case DEADLINE_EXCEEDED -> Status.DEADLINE_EXCEEDED;
                case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
                case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
                case UNIMPLEMENTED -> Status.UNIMPLEMENTED;
                default -> Status.INTERNAL;
            };
            return base.withDescription(c.error().getCode() + ": " + c.error().getMessage());
        }
        if (e instanceof StatusRuntimeException s) {
            return s.getStatus();
        }
        if (e instanceof IllegalArgumentException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
        }
        return Status.INTERNAL.withDescription(String.valueOf(e));
    }

    /** The named agent, or the only connected one when none is named. */
    private String agent(String requested) throws InterruptedException {
        if (!requested.isEmpty()) {
            var known = cp.registry().agent(requested);
            if (known.isEmpty()) {
                throw Status.NOT_FOUND.withDescription("no agent '" + requested + "' has connected to this control plane").asRuntimeException();
            }
            Duration wait = AdminCalls.WAIT.get();
            // Without a wait (an API client that set none) a command waits for its agent until its own deadline.
            if (wait != null && !known.get().connected() && !cp.registry().awaitConnected(requested, h -> true, wait)) {
                throw Status.UNAVAILABLE.withDescription("agent " + requested + " is offline and did not connect within "
                        + wait.toMillis() + " ms (--wait): nothing was sent to it").asRuntimeException();
            }
            return requested;
        }
        List<AgentRegistry.AgentView> connected = cp.registry().agents().stream().filter(AgentRegistry.AgentView::connected).toList();
        if (connected.size() != 1) {
            throw Status.FAILED_PRECONDITION.withDescription(connected.isEmpty() ? "no agent is connected"
                    : connected.size() + " agents are connected; name one with --agent").asRuntimeException();
        }
        return connected.get(0).agentId();
    }

    @Override
    public void createJoinToken(CreateJoinTokenRequest request, StreamObserver<CreateJoinTokenResponse> out) {
        async(out, () -> {
            JoinToken t = cp.createJoinToken(request.getTtlSeconds() > 0 ? Duration.ofSeconds(request.getTtlSeconds()) : Duration.ofHours(1));
            return CreateJoinTokenResponse.newBuilder().setToken(t.encode()).setExpiresAtMs(t.expiresAt().toEpochMilli()).build();
        });
    }

    @Override
    public void listAgents(ListAgentsRequest request, StreamObserver<ListAgentsResponse> out) {
        async(out, () -> {
            ListAgentsResponse.Builder r = ListAgentsResponse.newBuilder();
            for (AgentRegistry.AgentView a : cp.registry().agents()) {
                Agent.Builder b = r.addAgentsBuilder().setAgentId(a.agentId()).setConnected(a.connected()).setDraining(a.drainNotice() != null)
                        .setLiveSandboxes(a.liveSandboxes());
                if (a.hello() != null) {
                    b.setHello(a.hello());
                }
                if (a.connectedAt() != null) {
                    b.setConnectedAtMs(a.connectedAt().toEpochMilli());
                }
                cp.registry().anchors().get(a.agentId()).ifPresent(k -> b.setAuditAnchor(k.anchor())
                        .setAuditAnchorAtMs(k.at().toEpochMilli()).setAuditWarning(k.warning()));
            }
            return r.build();
        });
    }

    @Override
    public void provision(ProvisionRequest request, StreamObserver<SandboxInfo> out) {
        async(out, () -> cp.agents().provision(agent(request.getAgentId()), request.getSandbox(), Duration.ofMinutes(5)));
    }

    @Override
    public void listSandboxes(AgentRef request, StreamObserver<SandboxList> out) {
        async(out, () -> cp.agents().list(agent(request.getAgentId()), Duration.ofSeconds(30)));
    }

    @Override
    public void destroy(SandboxRef request, StreamObserver<Empty> out) {
        async(out, () -> {
            cp.agents().destroy(agent(request.getAgentId()), request.getSandboxId(), Duration.ofMinutes(2));
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void pause(SandboxRef request, StreamObserver<SandboxInfo> out) {
        async(out, () -> cp.agents().pause(agent(request.getAgentId()), request.getSandboxId(), Duration.ofMinutes(1)));
    }

    @Override
    public void updateEgress(UpdateEgressRequest request, StreamObserver<SandboxInfo> out) {
        async(out, () -> cp.agents().updateEgress(agent(request.getAgentId()), request.getUpdate().getSandboxId(),
                request.getUpdate().getEgress(), Duration.ofMinutes(1)));
    }

    @Override
    public void resume(SandboxRef request, StreamObserver<SandboxInfo> out) {
        async(out, () -> cp.agents().resume(agent(request.getAgentId()), request.getSandboxId(), Duration.ofMinutes(1)));
    }

    @Override
    public void exec(ExecRequest request, StreamObserver<ExecEvent> out) {
        // Output waits for the CLI's window: a slow terminal holds the exec back (through the
        // agent's Data stream and the process's pipe) instead of filling this server's memory.
        ServerCallStreamObserver<ExecEvent> server = (ServerCallStreamObserver<ExecEvent>) out;
        ReadyGate gate = new ReadyGate(server);
        server.setOnReadyHandler(gate::signal);
        server.setOnCancelHandler(gate::cancel);
        async(out, () -> {
            if (request.hasStdin() && request.getStdin().size() > MAX_INLINE_STDIN) {
                throw new IllegalArgumentException("stdin is " + request.getStdin().size() + " bytes (expected: at most " + MAX_INLINE_STDIN + ")");
            }
            Duration timeout = request.getTimeoutSeconds() > 0 ? Duration.ofSeconds(request.getTimeoutSeconds()) : DEFAULT_TIMEOUT;
            InputStream stdin = request.hasStdin() ? request.getStdin().newInput() : null;
            ExecResult result = cp.agents().exec(agent(request.getAgentId()), request.getExec(), stdin, chunk -> {
                try {
                    gate.awaitReady(timeout);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while the CLI was not reading");
                } catch (TimeoutException e) {
                    throw new IllegalStateException("the admin client stopped reading: " + e.getMessage());
                }
                synchronized (out) {
                    out.onNext(ExecEvent.newBuilder().setOutput(chunk).build());
                }
            }, timeout);
            return ExecEvent.newBuilder().setResult(result).build();
        });
    }

    @Override
    public StreamObserver<CopyInChunk> copyIn(StreamObserver<FileResult> out) {
        // Spooled to a private temp file first: the upload to the agent then runs at the agent's pace.
        return new StreamObserver<>() {
            private CopyInHeader header;
            private Path spool;
            private OutputStream spoolOut;
            private long size;

            @Override
            public void onNext(CopyInChunk chunk) {
                try {
                    if (header == null) {
                        if (!chunk.hasHeader()) {
                            throw new IllegalArgumentException("the first CopyIn message must be the header");
                        }
                        header = chunk.getHeader();
                        spool = Files.createTempFile("airlock-copyin-", ".part");
                        spoolOut = Files.newOutputStream(spool);
                        return;
                    }
                    size += chunk.getData().size();
                    if (size > MAX_UPLOAD) {
                        throw new IllegalArgumentException("upload exceeds " + MAX_UPLOAD + " bytes");
                    }
                    chunk.getData().writeTo(spoolOut);
                } catch (Exception e) {
                    cleanup();
                    out.onError(AdminCalls.answer(status(e)));
                    header = CopyInHeader.getDefaultInstance();
                    spool = null;
                }
            }

            @Override
            public void onError(Throwable t) {
                cleanup();
            }

            @Override
            public void onCompleted() {
                if (spool == null) {
                    return;
                }
                async(out, () -> {
                    try {
                        spoolOut.close();
                        try (InputStream in = Files.newInputStream(spool)) {
                            if (header.getArchive()) {
                                return cp.agents().writeArchive(agent(header.getAgentId()), WriteArchive.newBuilder()
                                        .setSandboxId(header.getSandboxId()).setPath(header.getPath()).build(), in, DEFAULT_TIMEOUT);
                            }
                            return cp.agents().writeFile(agent(header.getAgentId()), WriteFile.newBuilder().setSandboxId(header.getSandboxId())
                                    .setPath(header.getPath()).setMode(header.getMode()).build(), in, DEFAULT_TIMEOUT);
                        }
                    } finally {
                        cleanup();
                    }
                });
            }

            private void cleanup() {
                try {
                    if (spoolOut != null) {
                        spoolOut.close();
                    }
                    if (spool != null) {
                        Files.deleteIfExists(spool);
                    }
                } catch (IOException e) {
                    // best effort: a temp file
                }
            }
        };
    }

    @Override
    public void copyOut(CopyOutRequest request, StreamObserver<CopyOutChunk> out) {
        ServerCallStreamObserver<CopyOutChunk> server = (ServerCallStreamObserver<CopyOutChunk>) out;
        ReadyGate gate = new ReadyGate(server);
        server.setOnReadyHandler(gate::signal);
        server.setOnCancelHandler(gate::cancel);
        async(out, () -> {
            OutputStream sink = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    // The file reaches the CLI at its pace, and the agent's stream waits meanwhile.
                    try {
                        gate.awaitReady(DEFAULT_TIMEOUT);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while the CLI was not reading");
                    } catch (TimeoutException e) {
                        throw new IOException("the admin client stopped reading: " + e.getMessage());
                    }
                    out.onNext(CopyOutChunk.newBuilder().setData(ByteString.copyFrom(b, off, len)).build());
                }
            };
            FileResult r = request.getArchive()
                    ? cp.agents().readArchive(agent(request.getAgentId()), ReadArchive.newBuilder()
                            .setSandboxId(request.getSandboxId()).setPath(request.getPath()).build(), sink, DEFAULT_TIMEOUT)
                    : cp.agents().readFile(agent(request.getAgentId()),
                            ReadFile.newBuilder().setSandboxId(request.getSandboxId()).setPath(request.getPath()).build(), sink, DEFAULT_TIMEOUT);
            return CopyOutChunk.newBuilder().setResult(r).build();
        });
    }

    @Override
    public void listFiles(ListFilesRequest request, StreamObserver<FileList> out) {
        async(out, () -> cp.agents().listFiles(agent(request.getAgentId()), request.getList(), Duration.ofSeconds(30)));
    }

    @Override
    public void stat(StatRequest request, StreamObserver<FileEntry> out) {
        async(out, () -> cp.agents().stat(agent(request.getAgentId()), request.getStat(), Duration.ofSeconds(30)));
    }

    @Override
    public void snapshot(SnapshotRequest request, StreamObserver<SnapshotInfo> out) {
        async(out, () -> cp.agents().snapshot(agent(request.getAgentId()), request.getSnapshot().getSandboxId(),
                request.getSnapshot().getName(), DEFAULT_TIMEOUT));
    }

    @Override
    public void listSnapshots(AgentRef request, StreamObserver<SnapshotList> out) {
        async(out, () -> cp.agents().listSnapshots(agent(request.getAgentId()), "", Duration.ofSeconds(30)));
    }

    @Override
    public void deleteSnapshot(DeleteSnapshotRequest request, StreamObserver<Empty> out) {
        async(out, () -> {
            cp.agents().deleteSnapshot(agent(request.getAgentId()), request.getSnapshot().getDriver(), request.getSnapshot().getName(),
                    Duration.ofSeconds(60));
            return Empty.getDefaultInstance();
        });
    }

    @Override
    public void events(AgentRef request, StreamObserver<EventsResponse> out) {
        async(out, () -> {
            EventsResponse.Builder r = EventsResponse.newBuilder();
            for (AgentRegistry.RecordedEvent e : cp.registry().events(agent(request.getAgentId()))) {
                r.addEvents(RecordedEvent.newBuilder().setAtMs(e.at().toEpochMilli()).setKind(e.kind()).setDetail(e.detail()));
            }
            return r.build();
        });
    }
}
