package io.airlock.daemon.dispatch;

import com.google.protobuf.ByteString;
import io.airlock.daemon.connector.ControlConnection;
import io.airlock.daemon.connector.ReadyGate;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecOutcome;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.SafeTar;
import io.airlock.driver.TerminalSize;
import io.airlock.driver.SandboxDriver;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DataOpen;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.FileChunk;
import io.airlock.proto.v1.FileEof;
import io.airlock.proto.v1.FileResult;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.Path;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the byte-moving commands over their own Data stream each. Sending waits for the
 * stream's window (so a slow control plane holds the process back through its pipe rather
 * than filling memory); receiving asks for one message at a time and only after the previous
 * one was written to the process or file.
 */
final class DataStreamBridge {
    private static final Logger log = LoggerFactory.getLogger(DataStreamBridge.class);
    private static final int CHUNK = 32 * 1024;

    private final ControlConnection connection;

    DataStreamBridge(ControlConnection connection) {
        this.connection = connection;
    }

    /** One Data stream: opened with DataOpen, frames received go to {@code onFrame}. */
    private final class Stream implements ClientResponseObserver<DataFrame, DataFrame> {
        final ReadyGate gate = new ReadyGate();
        final CompletableFuture<Void> peerClosed = new CompletableFuture<>();
        private final FrameHandler onFrame;
        private ClientCallStreamObserver<DataFrame> out;

        Stream(FrameHandler onFrame) {
            this.onFrame = onFrame;
        }

        Stream open(String commandId, long deadlineMs) throws CommandException {
            try {
                connection.openData(this, deadlineMs);
            } catch (StatusRuntimeException e) {
                throw new CommandException(ErrorCode.UNAVAILABLE, "cannot open a data stream: " + e.getStatus().getDescription());
            }
            send(DataFrame.newBuilder().setOpen(DataOpen.newBuilder().setCommandId(commandId)).build());
            return this;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<DataFrame> requests) {
            this.out = requests;
            gate.attach(requests);
            requests.disableAutoRequestWithInitial(1);
            requests.setOnReadyHandler(gate::signal);
        }

        synchronized void send(DataFrame frame) {
            out.onNext(frame);
        }

        void sendWhenReady(DataFrame frame, Duration max) throws InterruptedException, TimeoutException {
            gate.awaitReady(max);
            send(frame);
        }

        synchronized void finish() {
            out.onCompleted();
        }

        synchronized void abort(String why) {
            out.cancel(why, null);
        }

        @Override
        public void onNext(DataFrame frame) {
            try {
                onFrame.handle(frame);
                out.request(1);
            } catch (Exception e) {
                log.info("data stream frame failed: {}", e.toString());
                abort("the agent could not handle a frame: " + e.getMessage());
                peerClosed.completeExceptionally(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            gate.cancel();
            peerClosed.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
            gate.cancel();
            peerClosed.complete(null);
        }
    }

    @FunctionalInterface
    private interface FrameHandler {
        void handle(DataFrame frame) throws Exception;
    }

    /** Output kept per exec for replay after a re-attach. */
    static final long EXEC_REPLAY_BYTES = 4L << 20;
    /** How long a detached exec waits for the control plane to re-attach before it is killed. */
    static final Duration EXEC_DETACH_GRACE = Duration.ofSeconds(60);

    /** Execs that may be re-attached to: running, or finished with output not yet delivered. */
    private final java.util.Map<String, ExecSession> execs = new java.util.concurrent.ConcurrentHashMap<>();

    ExecResult exec(String commandId, long deadlineMs, SandboxDriver driver, String sandboxId, ExecSpec spec)
            throws CommandException, DriverException, InterruptedException {
        ExecSession session = new ExecSession(commandId, EXEC_REPLAY_BYTES, EXEC_DETACH_GRACE);
        execs.put(commandId, session);
        try {
            Execution execution = Execution.start(driver, sandboxId, spec, session::onOutput);
            session.execution(execution);
            try {
                attach(session, commandId, deadlineMs, 1, true);
            } catch (CommandException e) {
                execution.kill();
                throw e;
            }
            ExecOutcome outcome;
            try {
                outcome = execution.await(spec.timeout().plusSeconds(30));
            } catch (TimeoutException e) {
                execution.kill();
                throw new CommandException(ErrorCode.INTERNAL, "exec did not finish after being killed; see the daemon log");
            }
            session.outputEnded();
            session.awaitDelivered(EXEC_DETACH_GRACE.plusSeconds(10));
            return ExecResult.newBuilder()
                    .setExitCode(outcome.exitCode())
                    .setTimedOut(outcome.timedOut())
                    .setOutputTruncated(outcome.outputTruncated())
                    .setStdoutBytes(outcome.stdoutBytes())
                    .setStderrBytes(outcome.stderrBytes())
                    .setDurationMs(outcome.duration().toMillis())
                    .build();
        } finally {
            execs.remove(commandId);
            session.close();
        }
    }

    /**
     * Re-attaches the control plane to a running exec (a repeated StartExec after a broken link):
     * opens a new Data stream and replays from {@code fromSeq}. False when there is nothing to attach to.
     */
    boolean reattach(String commandId, long fromSeq, long deadlineMs) {
        ExecSession session = execs.get(commandId);
        if (session == null) {
            return false;
        }
        try {
            attach(session, commandId, deadlineMs, fromSeq, false);
            log.info("exec {} re-attached from seq {}", commandId, fromSeq);
            return true;
        } catch (CommandException e) {
            log.info("exec {}: re-attach failed: {}", commandId, e.getMessage());
            return false;
        }
    }

    private void attach(ExecSession session, String commandId, long deadlineMs, long fromSeq, boolean acceptStdin) throws CommandException {
        Stream[] holder = new Stream[1];
        Stream stream = new Stream(frame -> {
            switch (frame.getBodyCase()) {
                case STDIN -> {
                    if (!acceptStdin) {
                        throw new IllegalArgumentException("stdin was closed when the previous data stream broke");
                    }
                    session.stdin().write(frame.getStdin().getData().toByteArray());
                }
                case STDIN_EOF -> session.stdin().close();
                case RESIZE, SIGNAL -> control(session, frame, holder[0]);
                default -> throw new IllegalArgumentException("unexpected frame " + frame.getBodyCase() + " on an exec stream");
            }
        });
        holder[0] = stream;
        ExecSession.Sink sink = new ExecSession.Sink() {
            @Override
            public void send(DataFrame frame, Duration max) throws InterruptedException, TimeoutException {
                stream.sendWhenReady(frame, max);
            }

            @Override
            public void finish() {
                stream.finish();
            }
        };
        // A broken stream detaches the exec instead of killing it: the control plane may come back.
        stream.peerClosed.whenComplete((v, t) -> {
            if (t != null) {
                session.detach(sink);
            }
        });
        stream.open(commandId, deadlineMs);
        session.attach(sink, fromSeq);
    }

    /**
     * A Resize or Signal frame. Its failure (a process that already exited, a bad size) is
     * answered with an Error frame on the same stream and does not end the exec.
     */
    private static void control(ExecSession session, DataFrame frame, Stream stream) {
        try {
            if (frame.hasResize()) {
                session.execution().resize(terminalSize(frame.getResize()));
            } else {
                session.execution().signal(signal(frame.getSignal().getSignal()));
            }
        } catch (DriverException | IllegalArgumentException e) {
            ErrorCode code = e instanceof DriverException d ? CommandDispatcher.code(d.kind()) : ErrorCode.INVALID_ARGUMENT;
            log.info("exec {}: {} refused: {}", session.commandId(), frame.getBodyCase(), e.getMessage());
            stream.send(DataFrame.newBuilder().setError(io.airlock.proto.v1.Error.newBuilder().setCode(code)
                    .setMessage(frame.getBodyCase().name().toLowerCase(java.util.Locale.ROOT) + ": " + e.getMessage())).build());
        }
    }

    static TerminalSize terminalSize(io.airlock.proto.v1.TerminalSize size) {
        return new TerminalSize(size.getColumns(), size.getRows());
    }

    private static ProcessSignal signal(io.airlock.proto.v1.Signal signal) {
        if (signal == io.airlock.proto.v1.Signal.SIGNAL_UNSPECIFIED || signal == io.airlock.proto.v1.Signal.UNRECOGNIZED) {
            throw new IllegalArgumentException("signal " + signal + " (expected one of " + java.util.Arrays.stream(ProcessSignal.values())
                    .map(p -> "SIG" + p.name()).collect(java.util.stream.Collectors.joining(", ")) + ")");
        }
        return ProcessSignal.valueOf(signal.name().substring(3));
    }

    FileResult writeFile(String commandId, long deadlineMs, SandboxDriver driver, String sandboxId, String path, int mode,
            long maxBytes) throws CommandException, DriverException, InterruptedException {
        return receive(commandId, deadlineMs, "file '" + path + "'", path, maxBytes, driver.openWrite(sandboxId, path, mode));
    }

    /**
     * Receives the whole tar into a spool file (0600, bounded by {@code maxBytes}), checks every
     * entry, and only then extracts it into the sandbox: a tar over policy.max_file_bytes, cut
     * short, or holding a refused entry leaves nothing behind in the workspace. Costs one local
     * copy of the archive, bounded by the same limit.
     */
    FileResult writeArchive(String commandId, long deadlineMs, SandboxDriver driver, String sandboxId, String path, long maxBytes)
            throws CommandException, DriverException, InterruptedException {
        Path spool;
        try {
            spool = Files.createTempFile("airlock-archive-", ".tar", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException e) {
            throw new CommandException(ErrorCode.UNAVAILABLE, "cannot spool the archive for '" + path + "': " + e.getMessage());
        }
        try {
            FileResult received;
            try (java.io.OutputStream out = Files.newOutputStream(spool)) {
                received = receive(commandId, deadlineMs, "archive for '" + path + "'", path, maxBytes, FileUpload.of(out, () -> { }, () -> { }));
            }
            try (InputStream in = Files.newInputStream(spool)) {
                new SafeTar(0, 0, SafeTar.MAX_ENTRIES).copy(in, java.io.OutputStream.nullOutputStream(), java.util.List.of());
            }
            SafeTar.Summary summary;
            try (InputStream in = Files.newInputStream(spool)) {
                summary = driver.extractArchive(sandboxId, path, in);
            }
            return received.toBuilder().setEntries(summary.entries()).build();
        } catch (IOException e) {
            throw new CommandException(ErrorCode.FAILED_PRECONDITION, "the archive for '" + path + "' is not a tar this agent extracts: "
                    + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(spool);
            } catch (IOException e) {
                log.warn("cannot remove the archive spool {}: {}", spool, e.toString());
            }
        }
    }

    /** Receives FileChunk frames up to FileEof into {@code upload}, which is committed on FileEof and aborted otherwise. */
    private FileResult receive(String commandId, long deadlineMs, String what, String path, long maxBytes, FileUpload upload)
            throws CommandException, InterruptedException {
        MessageDigest sha = sha256();
        long[] size = {0};
        CompletableFuture<Void> eof = new CompletableFuture<>();
        Stream stream = new Stream(frame -> {
            switch (frame.getBodyCase()) {
                case FILE_CHUNK -> {
                    ByteString data = frame.getFileChunk().getData();
                    size[0] += data.size();
                    if (size[0] > maxBytes) {
                        throw new CommandException(ErrorCode.RESOURCE_EXHAUSTED, what + " exceeds policy.max_file_bytes ("
                                + maxBytes + " bytes)");
                    }
                    data.writeTo(upload);
                    sha.update(data.asReadOnlyByteBuffer());
                }
                case FILE_EOF -> {
                    try {
                        upload.close();
                    } catch (IOException e) {
                        // The bytes arrived but could not be stored (e.g. the workspace is full): the sandbox's state, not the link.
                        throw new CommandException(ErrorCode.FAILED_PRECONDITION, "cannot store " + what + ": " + e.getMessage());
                    }
                    eof.complete(null);
                }
                default -> throw new IllegalArgumentException("unexpected frame " + frame.getBodyCase() + " on an upload");
            }
        });
        stream.peerClosed.whenComplete((v, t) -> {
            if (t != null) {
                eof.completeExceptionally(t);
            }
        });
        try {
            stream.open(commandId, deadlineMs);
            eof.get(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            stream.finish();
            return FileResult.newBuilder().setPath(path).setSize(size[0]).setSha256(HexFormat.of().formatHex(sha.digest())).build();
        } catch (ExecutionException e) {
            throw failed("upload of " + what, e.getCause());
        } catch (TimeoutException e) {
            stream.abort("deadline");
            throw new CommandException(ErrorCode.DEADLINE_EXCEEDED, "upload of " + what + " did not finish before the command deadline");
        } finally {
            upload.abort();
        }
    }

    FileResult readFile(String commandId, long deadlineMs, SandboxDriver driver, String sandboxId, String path)
            throws CommandException, DriverException, InterruptedException {
        return send(commandId, deadlineMs, driver.openRead(sandboxId, path), path);
    }

    FileResult readArchive(String commandId, long deadlineMs, SandboxDriver driver, String sandboxId, String path)
            throws CommandException, DriverException, InterruptedException {
        return send(commandId, deadlineMs, driver.openArchiveRead(sandboxId, path), path);
    }

    /** Sends {@code content} as FileChunk frames, each when the window allows, then FileEof. */
    private FileResult send(String commandId, long deadlineMs, InputStream content, String path) throws CommandException, InterruptedException {
        MessageDigest sha = sha256();
        long size = 0;
        try (InputStream in = content) {
            Stream stream = new Stream(frame -> {
                throw new IllegalArgumentException("unexpected frame " + frame.getBodyCase() + " on a file download");
            }).open(commandId, deadlineMs);
            byte[] buf = new byte[CHUNK];
            int n;
            try {
                while ((n = in.read(buf)) >= 0) {
                    if (n == 0) {
                        continue;
                    }
                    sha.update(buf, 0, n);
                    size += n;
                    stream.sendWhenReady(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n))).build(),
                            Duration.ofMillis(Math.max(1, deadlineMs - System.currentTimeMillis())));
                }
                stream.sendWhenReady(DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build(), Duration.ofSeconds(30));
                stream.finish();
            } catch (TimeoutException e) {
                stream.abort("download stalled");
                throw new CommandException(ErrorCode.DEADLINE_EXCEEDED, "download of '" + path + "' stalled: " + e.getMessage());
            }
        } catch (IOException e) {
            throw new CommandException(ErrorCode.FAILED_PRECONDITION, "cannot read '" + path + "': " + e.getMessage());
        }
        return FileResult.newBuilder().setPath(path).setSize(size).setSha256(HexFormat.of().formatHex(sha.digest())).build();
    }

    /**
     * One MCP exchange over its own Data stream: a body too large to ride in the command comes
     * down first (FileChunk frames, then FileEof; bounded by the server's max_request_bytes);
     * the response goes up as HttpResponseHead, FileChunk frames as the upstream sends them, and
     * FileEof. The control plane leaving mid-response aborts the upstream side.
     */
    io.airlock.proto.v1.McpExchangeResult mcp(String commandId, long deadlineMs, io.airlock.tunnel.mcp.McpTunnel tunnel,
            io.airlock.proto.v1.McpExchange x) throws CommandException, InterruptedException {
        long maxBody = tunnel.maxRequestBytes(x.getServer()).orElse(1L << 16);
        java.io.ByteArrayOutputStream streamed = new java.io.ByteArrayOutputStream();
        CompletableFuture<Void> bodyDone = new CompletableFuture<>();
        Stream stream = new Stream(frame -> {
            switch (frame.getBodyCase()) {
                case FILE_CHUNK -> {
                    if (!x.getBodyOnStream()) {
                        throw new IllegalArgumentException("a body chunk for an exchange whose body rode in the command");
                    }
                    // Past the limit, keep one byte more than allowed: enough for the tunnel to refuse it by size.
                    ByteString data = frame.getFileChunk().getData();
                    int room = (int) Math.max(0, Math.min(data.size(), maxBody + 1 - streamed.size()));
                    data.substring(0, room).writeTo(streamed);
                }
                case FILE_EOF -> bodyDone.complete(null);
                default -> throw new IllegalArgumentException("unexpected frame " + frame.getBodyCase() + " on an MCP exchange");
            }
        });
        stream.peerClosed.whenComplete((v, t) -> bodyDone.completeExceptionally(t != null ? t : new java.io.IOException("the stream ended")));
        stream.open(commandId, deadlineMs);
        byte[] body = x.getBody().toByteArray();
        if (x.getBodyOnStream()) {
            try {
                bodyDone.get(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw failed("the body of MCP exchange " + commandId, e.getCause());
            } catch (TimeoutException e) {
                stream.abort("deadline");
                throw new CommandException(ErrorCode.DEADLINE_EXCEEDED, "the request body did not arrive before the command deadline");
            }
            body = streamed.toByteArray();
        }
        boolean[] ended = {false};
        io.airlock.tunnel.mcp.ResponseSink sink = new io.airlock.tunnel.mcp.ResponseSink() {
            @Override
            public void head(int status, java.util.Map<String, String> headers) throws IOException {
                send(DataFrame.newBuilder().setHttpHead(io.airlock.proto.v1.HttpResponseHead.newBuilder().setStatus(status).putAllHeaders(headers)).build());
            }

            @Override
            public void body(byte[] bytes, int offset, int length) throws IOException {
                // One frame per CHUNK: a whole SSE event or stdio message can be far larger than a gRPC message may be.
                for (int at = offset; at < offset + length; at += CHUNK) {
                    int n = Math.min(CHUNK, offset + length - at);
                    send(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFrom(bytes, at, n))).build());
                }
            }

            @Override
            public void end() throws IOException {
                send(DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build());
                ended[0] = true;
                stream.finish();
            }

            @Override
            public void onCancel(Runnable action) {
                stream.peerClosed.whenComplete((v, t) -> action.run());
            }

            private void send(DataFrame frame) throws IOException {
                if (stream.peerClosed.isDone()) {
                    throw new IOException("the control plane closed the stream");
                }
                try {
                    stream.sendWhenReady(frame, Duration.ofMillis(Math.max(1, deadlineMs - System.currentTimeMillis())));
                } catch (TimeoutException e) {
                    throw new IOException("the control plane took no data: " + e.getMessage());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
        };
        var caller = x.getCaller();
        io.airlock.tunnel.mcp.McpRequest request = new io.airlock.tunnel.mcp.McpRequest(x.getServer(), x.getMethod(),
                x.getHeadersMap().entrySet().stream().collect(java.util.stream.Collectors.toMap(
                        e -> e.getKey().toLowerCase(java.util.Locale.ROOT), java.util.Map.Entry::getValue, (a, b) -> a)),
                body, new io.airlock.tunnel.mcp.McpRequest.Caller(caller.getUser(), caller.getAgent(), caller.getSession()));
        try {
            io.airlock.tunnel.mcp.McpTunnel.Result r = tunnel.exchange(request, sink);
            if (!ended[0] && !stream.peerClosed.isDone()) {
                stream.abort("the exchange ended without a complete response");
            }
            return io.airlock.proto.v1.McpExchangeResult.newBuilder().setStatus(r.status()).setRequestBytes(r.requestBytes())
                    .setResponseBytes(r.responseBytes()).build();
        } catch (IOException e) {
            stream.abort("MCP exchange failed: " + e.getMessage());
            throw new CommandException(ErrorCode.UNAVAILABLE, "MCP exchange with '" + x.getServer() + "' broke off: " + e.getMessage());
        }
    }

    private static CommandException failed(String what, Throwable cause) {
        if (cause instanceof CommandException c) {
            return c;
        }
        if (cause instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return new CommandException(ErrorCode.DEADLINE_EXCEEDED, what + " did not finish before the command deadline");
        }
        return new CommandException(ErrorCode.UNAVAILABLE, what + " failed: the data stream broke (" + cause + ")");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
