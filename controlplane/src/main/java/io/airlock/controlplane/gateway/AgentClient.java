package io.airlock.controlplane.gateway;

import com.google.protobuf.ByteString;
import io.airlock.proto.support.ReadyGate;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DeleteSnapshot;
import io.airlock.proto.v1.DestroySandbox;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileChunk;
import io.airlock.proto.v1.FileEntry;
import io.airlock.proto.v1.FileEof;
import io.airlock.proto.v1.FileList;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.HttpResponseHead;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.ListSandboxes;
import io.airlock.proto.v1.ListSnapshots;
import io.airlock.proto.v1.McpExchange;
import io.airlock.proto.v1.McpExchangeResult;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.PauseSandbox;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.ReadArchive;
import io.airlock.proto.v1.ReadFile;
import io.airlock.proto.v1.ResumeSandbox;
import io.airlock.proto.v1.SandboxInfo;
import io.airlock.proto.v1.SandboxList;
import io.airlock.proto.v1.SnapshotInfo;
import io.airlock.proto.v1.SnapshotList;
import io.airlock.proto.v1.SnapshotSandbox;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.StatFile;
import io.airlock.proto.v1.StdinData;
import io.airlock.proto.v1.StdinEof;
import io.airlock.proto.v1.UpdateEgress;
import io.airlock.proto.v1.WriteArchive;
import io.airlock.proto.v1.WriteFile;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Drives agents: each method sends one command and waits (up to its timeout) for the result,
 * moving bytes over the Data stream the agent opens for it. Errors from the agent surface as
 * {@link CommandFailedException} with the agent's error code and message.
 */
public final class AgentClient {
    private static final int CHUNK = 32 * 1024;
    private final AgentRegistry registry;

    public AgentClient(AgentRegistry registry) {
        this.registry = registry;
    }

    public AgentRegistry registry() {
        return registry;
    }

    /** A command with a fresh id and a deadline {@code timeout} from now. */
    public static Command.Builder command(Duration timeout) {
        return Command.newBuilder().setCommandId(UUID.randomUUID().toString())
                .setDeadlineMs(System.currentTimeMillis() + timeout.toMillis());
    }

    /** Sends a prepared command (for callers that choose the command id, e.g. to retry it). */
    public CommandResult send(String agentId, Command command) {
        return await(registry.send(agentId, command, null), command);
    }

    public SandboxInfo provision(String agentId, ProvisionSandbox request, Duration timeout) {
        return send(agentId, command(timeout).setProvision(request).build()).getSandbox();
    }

    /** Replaces a sandbox's egress allowlist (new connections see it); returns the sandbox with the rules now enforced. */
    public SandboxInfo updateEgress(String agentId, String sandboxId, EgressPolicy egress, Duration timeout) {
        return send(agentId, command(timeout).setUpdateEgress(UpdateEgress.newBuilder().setSandboxId(sandboxId)
                .setEgress(egress)).build()).getSandbox();
    }

    public SandboxList list(String agentId, Duration timeout) {
        return send(agentId, command(timeout).setList(ListSandboxes.getDefaultInstance()).build()).getSandboxes();
    }

    public SandboxInfo pause(String agentId, String sandboxId, Duration timeout) {
        return send(agentId, command(timeout).setPause(PauseSandbox.newBuilder().setSandboxId(sandboxId)).build()).getSandbox();
    }

    public SandboxInfo resume(String agentId, String sandboxId, Duration timeout) {
        return send(agentId, command(timeout).setResume(ResumeSandbox.newBuilder().setSandboxId(sandboxId)).build()).getSandbox();
    }

    public void destroy(String agentId, String sandboxId, Duration timeout) {
        send(agentId, command(timeout).setDestroy(DestroySandbox.newBuilder().setSandboxId(sandboxId)).build());
    }

    public FileList listFiles(String agentId, ListFiles request, Duration timeout) {
        return send(agentId, command(timeout).setListFiles(request).build()).getFiles();
    }

    /**
     * Runs a process. Output chunks reach {@code output} as they arrive (in seq order);
     * {@code stdin}, when not null, is streamed to the process and then closed (end-of-file).
     */
    public ExecResult exec(String agentId, StartExec request, InputStream stdin, Consumer<OutputChunk> output, Duration timeout) {
        return exec(agentId, request, stdin, output, new ExecControl(), timeout);
    }

    /**
     * Runs a process that {@code control} can steer while it runs (terminal size, signals).
     * Output chunks reach {@code output} as they arrive (in seq order); {@code stdin}, when not
     * null, is streamed to the process and then closed (end-of-file).
     */
    public ExecResult exec(String agentId, StartExec request, InputStream stdin, Consumer<OutputChunk> output, ExecControl control,
            Duration timeout) {
        StartExec exec = request.toBuilder().setStdin(stdin != null).build();
        Command command = command(timeout).setExec(exec).build();
        StreamHandler handler = new StreamHandler(timeout) {
            private long lastSeq;
            private boolean stdinStarted;

            @Override
            void send(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate) {
                control.bind(frame -> sendFrame(toAgent, frame));
                // stdin goes to the first stream only: the agent closes stdin when a stream breaks.
                synchronized (this) {
                    if (stdinStarted || stdin == null) {
                        return;
                    }
                    stdinStarted = true;
                }
                try {
                    sendAll(stdin, toAgent, gate, timeout, data -> DataFrame.newBuilder().setStdin(StdinData.newBuilder().setData(data)).build(),
                            DataFrame.newBuilder().setStdinEof(StdinEof.getDefaultInstance()).build());
                } catch (Exception e) {
                    // The stream broke while sending stdin; the output can still be re-attached.
                }
            }

            @Override
            boolean errorEndsStream() {
                return false;
            }

            @Override
            synchronized void receive(DataFrame frame) {
                if (frame.hasError()) {
                    control.refused(frame.getError());
                } else if (frame.hasOutput() && frame.getOutput().getSeq() > lastSeq) {
                    lastSeq = frame.getOutput().getSeq();
                    output.accept(frame.getOutput());
                }
            }

            @Override
            public void streamBroken(Throwable error) {
                control.bind(null);
                // The agent keeps the exec running and will re-attach when it reconnects; the deadline bounds the wait.
            }

            @Override
            public synchronized Command forResend(Command original) {
                return original.toBuilder().setExec(original.getExec().toBuilder().setResumeFromSeq(lastSeq + 1)).build();
            }
        };
        try {
            return withStream(agentId, command, handler).getExec();
        } finally {
            control.bind(null);
        }
    }

    /** Streams {@code content} into a workspace file. */
    public FileResult writeFile(String agentId, WriteFile request, InputStream content, Duration timeout) {
        return upload(agentId, command(timeout).setWriteFile(request).build(), content, timeout);
    }

    /** Streams a workspace file into {@code sink}. */
    public FileResult readFile(String agentId, ReadFile request, OutputStream sink, Duration timeout) {
        return download(agentId, command(timeout).setReadFile(request).build(), sink, timeout);
    }

    /** Streams a tar archive into a workspace directory; the result counts the entries extracted. */
    public FileResult writeArchive(String agentId, WriteArchive request, InputStream tar, Duration timeout) {
        return upload(agentId, command(timeout).setWriteArchive(request).build(), tar, timeout);
    }

    /** Streams a tar archive of a workspace path into {@code sink}. */
    public FileResult readArchive(String agentId, ReadArchive request, OutputStream sink, Duration timeout) {
        return download(agentId, command(timeout).setReadArchive(request).build(), sink, timeout);
    }

    /** A command whose bytes go to the agent as FileChunk frames, then FileEof. */
    private FileResult upload(String agentId, Command command, InputStream content, Duration timeout) {
        StreamHandler handler = new StreamHandler(timeout) {
            @Override
            void send(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate) throws Exception {
                sendAll(content, toAgent, gate, timeout, data -> DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(data)).build(),
                        DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build());
            }

            @Override
            void receive(DataFrame frame) {}
        };
        return withStream(agentId, command, handler).getFile();
    }

    /** A command whose bytes come from the agent as FileChunk frames. */
    private FileResult download(String agentId, Command command, OutputStream sink, Duration timeout) {
        StreamHandler handler = new StreamHandler(timeout) {
            @Override
            void send(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate) {}

            @Override
            void receive(DataFrame frame) throws IOException {
                if (frame.hasFileChunk()) {
                    frame.getFileChunk().getData().writeTo(sink);
                }
            }
        };
        return withStream(agentId, command, handler).getFile();
    }

    /** Where an MCP exchange's response goes, as it arrives; a method that throws ends the exchange (the caller went away). */
    public interface McpResponse {
        /** Status and headers, with the body's first bytes (maybe none); {@code end}: that is the whole response. */
        void head(int status, Map<String, String> headers, ByteString body, boolean end) throws IOException;

        void body(ByteString bytes) throws IOException;

        void end() throws IOException;
    }

    /**
     * One HTTP exchange with a private MCP server of the agent. A body in {@code exchange.body}
     * rides in the command; otherwise {@code body} (not null when {@code exchange.body_on_stream})
     * is streamed on the Data stream. The response reaches {@code response} frame by frame;
     * completing {@code callerGone} cancels the exchange (the agent then frees the upstream side).
     */
    public McpExchangeResult mcp(String agentId, McpExchange exchange, InputStream body,
            McpResponse response, CompletableFuture<Void> callerGone, Duration timeout) {
        Command command = command(timeout).setMcp(exchange).build();
        StreamHandler handler = new StreamHandler(timeout) {
            @Override
            void send(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate) throws Exception {
                callerGone.whenComplete((v, t) -> abort(Status.CANCELLED.withDescription("the MCP caller went away")));
                if (exchange.getBodyOnStream()) {
                    sendAll(body, toAgent, gate, timeout, data -> DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(data)).build(),
                            DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build());
                }
            }

            @Override
            void receive(DataFrame frame) throws IOException {
                switch (frame.getBodyCase()) {
                    case HTTP_HEAD -> {
                        HttpResponseHead h = frame.getHttpHead();
                        response.head(h.getStatus(), h.getHeadersMap(), h.getBody(), h.getEnd());
                    }
                    case FILE_CHUNK -> response.body(frame.getFileChunk().getData());
                    case FILE_EOF -> response.end();
                    default -> throw new IOException("unexpected frame " + frame.getBodyCase() + " on an MCP exchange");
                }
            }
        };
        return withStream(agentId, command, handler).getMcp();
    }

    public SnapshotInfo snapshot(String agentId, String sandboxId, String name, Duration timeout) {
        return send(agentId, command(timeout).setSnapshot(SnapshotSandbox.newBuilder().setSandboxId(sandboxId)
                .setName(name)).build()).getSnapshot();
    }

    public SnapshotList listSnapshots(String agentId, String driver, Duration timeout) {
        return send(agentId, command(timeout).setListSnapshots(ListSnapshots.newBuilder().setDriver(driver)).build())
                .getSnapshots();
    }

    public void deleteSnapshot(String agentId, String driver, String name, Duration timeout) {
        send(agentId, command(timeout).setDeleteSnapshot(DeleteSnapshot.newBuilder().setDriver(driver).setName(name)).build());
    }

    public FileEntry stat(String agentId, StatFile request, Duration timeout) {
        return send(agentId, command(timeout).setStat(request).build()).getStat();
    }

    /** Sends a command whose bytes travel on a Data stream; returns once both the result and the stream are done. */
    private CommandResult withStream(String agentId, Command command, StreamHandler handler) {
        try {
            CommandResult result = await(registry.send(agentId, command, handler), command);
            handler.awaitClosed(Duration.ofMillis(Math.max(1, command.getDeadlineMs() - System.currentTimeMillis())));
            return result;
        } finally {
            registry.releaseDataStream(command.getCommandId());
        }
    }

    private static CommandResult await(CompletableFuture<CommandResult> future, Command command) {
        long wait = Math.max(1, command.getDeadlineMs() - System.currentTimeMillis() + 1000);
        CommandResult result;
        try {
            result = future.get(wait, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            // The caller gave up: a command not yet sent (its agent offline) is dropped, never sent later.
            future.cancel(false);
            Thread.currentThread().interrupt();
            throw new CommandFailedException(ErrorCode.UNAVAILABLE, "interrupted while waiting for command " + command.getCommandId());
        } catch (TimeoutException e) {
            throw new CommandFailedException(ErrorCode.DEADLINE_EXCEEDED, "no result for command " + command.getCommandId() + " before its deadline");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof CommandFailedException c) {
                throw c;
            }
            throw new CommandFailedException(ErrorCode.INTERNAL, String.valueOf(e.getCause()));
        }
        if (result.hasError()) {
            throw new CommandFailedException(result.getError());
        }
        return result;
    }

    /**
     * The control plane's end of one Data stream: a virtual thread sends (respecting flow
     * control), frames received go to {@link #receive}, and the stream is completed from our
     * side only after the agent completed its side (a server cannot half-close).
     */
    private abstract static class StreamHandler implements DataStreamHandler {
        private final Duration timeout;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();
        private final Object sendLock = new Object();
        private ServerCallStreamObserver<DataFrame> toAgent;
        private boolean done;

        StreamHandler(Duration timeout) {
            this.timeout = timeout;
        }

        abstract void send(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate) throws Exception;

        abstract void receive(DataFrame frame) throws Exception;

        /** False where an Error frame answers one request on a stream that carries on (exec control). */
        boolean errorEndsStream() {
            return true;
        }

        /** Streams {@code in} as chunk frames, each when the agent's window allows, then {@code end}. */
        void sendAll(InputStream in, ServerCallStreamObserver<DataFrame> out, ReadyGate gate, Duration timeout,
                Function<ByteString, DataFrame> chunk, DataFrame end) throws Exception {
            byte[] buf = new byte[CHUNK];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n > 0) {
                    gate.awaitReady(timeout);
                    sendFrame(out, chunk.apply(ByteString.copyFrom(buf, 0, n)));
                }
            }
            gate.awaitReady(timeout);
            sendFrame(out, end);
        }

        void sendFrame(ServerCallStreamObserver<DataFrame> out, DataFrame frame) {
            synchronized (sendLock) {
                if (!done) {
                    out.onNext(frame);
                }
            }
        }

        @Override
        public void opened(ServerCallStreamObserver<DataFrame> out, ReadyGate gate) {
            synchronized (sendLock) {
                if (done) {
                    out.onError(Status.FAILED_PRECONDITION.withDescription("operation already finished").asRuntimeException());
                    return;
                }
                this.toAgent = out;
            }
            Thread.ofVirtual().name("cp-data-send").start(() -> {
                try {
                    send(out, gate);
                } catch (Exception e) {
                    fail(Status.ABORTED.withDescription("sending to agent failed: " + e.getMessage()));
                }
            });
        }

        @Override
        public void onFrame(DataFrame frame) {
            try {
                if (frame.hasError() && errorEndsStream()) {
                    closed(new CommandFailedException(frame.getError()));
                    return;
                }
                receive(frame);
            } catch (Exception e) {
                fail(Status.ABORTED.withDescription("receiving from agent failed: " + e.getMessage()));
            }
        }

        /** Ends the stream from our side (the caller of the operation went away). */
        void abort(Status status) {
            fail(status);
        }

        private void fail(Status status) {
            synchronized (sendLock) {
                if (!done && toAgent != null) {
                    done = true;
                    toAgent.onError(status.asRuntimeException());
                }
            }
            closed.completeExceptionally(status.asRuntimeException());
        }

        @Override
        public void closed(Throwable error) {
            synchronized (sendLock) {
                if (!done && toAgent != null) {
                    done = true;
                    try {
                        toAgent.onCompleted();
                    } catch (IllegalStateException e) {
                        // already cancelled
                    }
                }
                done = true;
            }
            if (error == null) {
                closed.complete(null);
            } else {
                closed.completeExceptionally(error);
            }
        }

        void awaitClosed(Duration max) {
            try {
                closed.get(max.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                throw new CommandFailedException(ErrorCode.UNAVAILABLE, "the data stream broke before all bytes arrived: "
                        + e.getCause().getMessage());
            } catch (TimeoutException e) {
                throw new CommandFailedException(ErrorCode.DEADLINE_EXCEEDED, "the data stream did not finish before the command deadline");
            }
        }
    }
}
