package io.airlock.core.work;

import io.airlock.driver.DriverException;
import io.airlock.driver.ExecOutcome;
import io.airlock.driver.ExecSpec;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.Execution;
import io.airlock.driver.FileUpload;
import io.airlock.driver.ProcessSignal;
import io.airlock.driver.SafeTar;
import io.airlock.driver.TerminalSize;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpTunnel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The work that moves bytes, each over its own {@link DataChannel}: exec I/O, file and archive
 * transfers, MCP exchanges. Sending waits for the channel's window (so a slow caller holds the
 * process back through its pipe rather than filling memory); inbound frames are handled one at
 * a time, the next asked for only after the previous one was written to the process or file.
 */
final class Transfers {
    private static final Logger log = LoggerFactory.getLogger(Transfers.class);
    private static final int CHUNK = 32 * 1024;
    /** Output kept per exec for replay after a re-attach. */
    static final long EXEC_REPLAY_BYTES = 4L << 20;
    /** How long a detached exec waits for its caller to re-attach before it is killed. */
    static final Duration EXEC_DETACH_GRACE = Duration.ofSeconds(60);

    private final SandboxService sandboxes;
    /** Execs that may be re-attached to: running, or finished with output not yet delivered. */
    private final Map<String, ExecSession> execs = new ConcurrentHashMap<>();

    Transfers(SandboxService sandboxes) {
        this.sandboxes = sandboxes;
    }

    Outcome.ExecDone exec(Connector connector, String workId, long deadlineMs, String sandboxId, ExecSpec spec)
            throws WorkException, DriverException, InterruptedException {
        ExecSession session = new ExecSession(workId, EXEC_REPLAY_BYTES, EXEC_DETACH_GRACE);
        execs.put(workId, session);
        try {
            Execution execution = sandboxes.startExec(sandboxId, spec, session::onOutput);
            HandOffProbe.mark(workId, "process started (driver)");
            session.execution(execution);
            try {
                attach(connector, session, workId, deadlineMs, 1, true);
            } catch (WorkException e) {
                execution.kill();
                throw e;
            }
            HandOffProbe.mark(workId, "data stream claimed");
            ExecOutcome outcome;
            try {
                outcome = execution.await(spec.timeout().plusSeconds(30));
            } catch (TimeoutException e) {
                execution.kill();
                throw new WorkException(WorkError.INTERNAL, "exec did not finish after being killed; see the daemon log");
            }
            HandOffProbe.mark(workId, "process exited");
            session.outputEnded();
            session.awaitDelivered(EXEC_DETACH_GRACE.plusSeconds(10));
            HandOffProbe.mark(workId, "output delivered, stream closed");
            return new Outcome.ExecDone(outcome.exitCode(), outcome.timedOut(), outcome.outputTruncated(), outcome.stdoutBytes(),
                    outcome.stderrBytes(), outcome.duration().toMillis());
        } finally {
            execs.remove(workId);
            session.close();
        }
    }

    /**
     * Re-attaches the caller to a running exec (a repeated exec after a broken link): opens a new
     * data channel and replays from {@code fromSeq}. False when there is nothing to attach to.
     */
    boolean reattach(Connector connector, String workId, long fromSeq, long deadlineMs) {
        ExecSession session = execs.get(workId);
        if (session == null) {
            return false;
        }
        try {
            attach(connector, session, workId, deadlineMs, fromSeq, false);
            log.info("exec {} re-attached from seq {}", workId, fromSeq);
            return true;
        } catch (WorkException e) {
            log.info("exec {}: re-attach failed: {}", workId, e.getMessage());
            return false;
        }
    }

    private static void attach(Connector connector, ExecSession session, String workId, long deadlineMs, long fromSeq, boolean acceptStdin) throws WorkException {
        DataChannel[] holder = new DataChannel[1];
        DataChannel channel = connector.openData(workId, deadlineMs, frame -> {
            switch (frame) {
                case Frame.Stdin in -> {
                    if (!acceptStdin) {
                        throw new IllegalArgumentException("stdin was closed when the previous data stream broke");
                    }
                    session.stdin().write(in.data());
                }
                case Frame.StdinEof eof -> session.stdin().close();
                case Frame.Resize r -> control(session, holder[0], "resize", () -> session.execution().resize(terminalSize(r.columns(), r.rows())));
                case Frame.Signal s -> control(session, holder[0], "signal", () -> session.execution().signal(signal(s.name())));
                default -> throw new IllegalArgumentException("unexpected frame " + name(frame) + " on an exec stream");
            }
        });
        holder[0] = channel;
        ExecSession.Sink sink = new ExecSession.Sink() {
            @Override
            public void send(Frame.Output frame, Duration max) throws InterruptedException, TimeoutException {
                channel.send(frame, max);
            }

            @Override
            public void finish() {
                channel.finish();
            }
        };
        // A broken channel detaches the exec instead of killing it: the caller may come back.
        channel.peerClosed().whenComplete((v, t) -> {
            if (t != null) {
                session.detach(sink);
            }
        });
        session.attach(sink, fromSeq);
    }

    @FunctionalInterface
    private interface Control {
        void run() throws DriverException;
    }

    /**
     * A resize or signal. Its failure (a process that already exited, a bad size) is answered
     * with an error frame on the same channel and does not end the exec.
     */
    private static void control(ExecSession session, DataChannel channel, String what, Control action) {
        try {
            action.run();
        } catch (DriverException | IllegalArgumentException e) {
            WorkError code = e instanceof DriverException d ? WorkRunner.error(d.kind()) : WorkError.INVALID_ARGUMENT;
            log.info("exec {}: {} refused: {}", session.commandId(), what, e.getMessage());
            channel.sendNow(new Frame.Error(code, what + ": " + e.getMessage()));
        }
    }

    static TerminalSize terminalSize(int columns, int rows) {
        return new TerminalSize(columns, rows);
    }

    private static ProcessSignal signal(String name) {
        if (name.startsWith("SIG")) {
            for (ProcessSignal p : ProcessSignal.values()) {
                if (p.name().equals(name.substring(3))) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException("signal " + name + " (expected one of " + Arrays.stream(ProcessSignal.values())
                .map(p -> "SIG" + p.name()).collect(Collectors.joining(", ")) + ")");
    }

    Outcome.FileDone writeFile(Connector connector, String workId, long deadlineMs, String sandboxId, String path, int mode)
            throws WorkException, DriverException, InterruptedException {
        return receive(connector, workId, deadlineMs, "file '" + path + "'", path, sandboxes.maxFileBytes(),
                sandboxes.openWrite(sandboxId, path, mode));
    }

    /**
     * Receives the whole tar into a spool file (0600, bounded by {@code maxBytes}), checks every
     * entry, and only then extracts it into the sandbox: a tar over policy.max_file_bytes, cut
     * short, or holding a refused entry leaves nothing behind in the workspace. Costs one local
     * copy of the archive, bounded by the same limit.
     */
    Outcome.FileDone writeArchive(Connector connector, String workId, long deadlineMs, String sandboxId, String path)
            throws WorkException, DriverException, InterruptedException {
        Path spool;
        try {
            spool = Files.createTempFile("airlock-archive-", ".tar", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (IOException e) {
            throw new WorkException(WorkError.UNAVAILABLE, "cannot spool the archive for '" + path + "': " + e.getMessage());
        }
        try {
            Outcome.FileDone received;
            try (OutputStream out = Files.newOutputStream(spool)) {
                received = receive(connector, workId, deadlineMs, "archive for '" + path + "'", path, sandboxes.maxFileBytes(),
                        FileUpload.of(out, () -> { }, () -> { }));
            }
            try (InputStream in = Files.newInputStream(spool)) {
                new SafeTar(0, 0, SafeTar.MAX_ENTRIES).copy(in, OutputStream.nullOutputStream(), List.of());
            }
            SafeTar.Summary summary;
            try (InputStream in = Files.newInputStream(spool)) {
                summary = sandboxes.extractArchive(sandboxId, path, in);
            }
            return new Outcome.FileDone(received.path(), received.size(), received.sha256(), summary.entries());
        } catch (IOException e) {
            throw new WorkException(WorkError.FAILED_PRECONDITION, "the archive for '" + path + "' is not a tar this agent extracts: "
                    + e.getMessage());
        } finally {
            try {
                Files.deleteIfExists(spool);
            } catch (IOException e) {
                log.warn("cannot remove the archive spool {}: {}", spool, e.toString());
            }
        }
    }

    /** Receives chunks up to the end mark into {@code upload}, which is committed at the end and aborted otherwise. */
    private static Outcome.FileDone receive(Connector connector, String workId, long deadlineMs, String what, String path, long maxBytes, FileUpload upload)
            throws WorkException, InterruptedException {
        MessageDigest sha = sha256();
        long[] size = {0};
        CompletableFuture<Void> eof = new CompletableFuture<>();
        DataChannel channel = null;
        try {
            channel = connector.openData(workId, deadlineMs, frame -> {
                switch (frame) {
                    case Frame.Chunk c -> {
                        size[0] += c.data().length;
                        if (size[0] > maxBytes) {
                            throw new WorkException(WorkError.RESOURCE_EXHAUSTED, what + " exceeds policy.max_file_bytes ("
                                    + maxBytes + " bytes)");
                        }
                        upload.write(c.data());
                        sha.update(c.data());
                    }
                    case Frame.Eof e -> {
                        try {
                            upload.close();
                        } catch (IOException ex) {
                            // The bytes arrived but could not be stored (e.g. the workspace is full): the sandbox's state, not the link.
                            throw new WorkException(WorkError.FAILED_PRECONDITION, "cannot store " + what + ": " + ex.getMessage());
                        }
                        eof.complete(null);
                    }
                    default -> throw new IllegalArgumentException("unexpected frame " + name(frame) + " on an upload");
                }
            });
            channel.peerClosed().whenComplete((v, t) -> {
                if (t != null) {
                    eof.completeExceptionally(t);
                }
            });
            eof.get(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            channel.finish();
            return new Outcome.FileDone(path, size[0], HexFormat.of().formatHex(sha.digest()), 0);
        } catch (ExecutionException e) {
            throw failed("upload of " + what, e.getCause());
        } catch (TimeoutException e) {
            channel.abort("deadline");
            throw new WorkException(WorkError.DEADLINE_EXCEEDED, "upload of " + what + " did not finish before the command deadline");
        } finally {
            upload.abort();
        }
    }

    Outcome.FileDone readFile(Connector connector, String workId, long deadlineMs, String sandboxId, String path)
            throws WorkException, DriverException, InterruptedException {
        return send(connector, workId, deadlineMs, sandboxes.openRead(sandboxId, path), path);
    }

    Outcome.FileDone readArchive(Connector connector, String workId, long deadlineMs, String sandboxId, String path)
            throws WorkException, DriverException, InterruptedException {
        return send(connector, workId, deadlineMs, sandboxes.openArchiveRead(sandboxId, path), path);
    }

    /** Sends {@code content} as chunks, each when the window allows, then the end mark. */
    private static Outcome.FileDone send(Connector connector, String workId, long deadlineMs, InputStream content, String path) throws WorkException, InterruptedException {
        MessageDigest sha = sha256();
        long size = 0;
        try (InputStream in = content) {
            DataChannel channel = connector.openData(workId, deadlineMs, frame -> {
                throw new IllegalArgumentException("unexpected frame " + name(frame) + " on a file download");
            });
            byte[] buf = new byte[CHUNK];
            int n;
            try {
                while ((n = in.read(buf)) >= 0) {
                    if (n == 0) {
                        continue;
                    }
                    sha.update(buf, 0, n);
                    size += n;
                    channel.send(new Frame.Chunk(Arrays.copyOf(buf, n)), Duration.ofMillis(Math.max(1, deadlineMs - System.currentTimeMillis())));
                }
                channel.send(new Frame.Eof(), Duration.ofSeconds(30));
                channel.finish();
            } catch (TimeoutException e) {
                channel.abort("download stalled");
                throw new WorkException(WorkError.DEADLINE_EXCEEDED, "download of '" + path + "' stalled: " + e.getMessage());
            } catch (CancellationException e) {
                throw new WorkException(WorkError.UNAVAILABLE, "download of '" + path + "' broke off: the control plane closed the stream");
            }
        } catch (IOException e) {
            throw new WorkException(WorkError.FAILED_PRECONDITION, "cannot read '" + path + "': " + e.getMessage());
        }
        return new Outcome.FileDone(path, size, HexFormat.of().formatHex(sha.digest()), 0);
    }

    /**
     * One MCP exchange over its own data channel: a body too large to ride in the request comes
     * first (chunks, then the end mark; bounded by the server's max_request_bytes); the response
     * goes back as a head, chunks as the upstream sends them, and the end mark. The caller leaving
     * mid-response aborts the upstream side.
     */
    static Outcome.McpDone mcp(Connector connector, String workId, long deadlineMs, McpTunnel tunnel, Work.McpExchange x) throws WorkException, InterruptedException {
        long maxBody = tunnel.maxRequestBytes(x.server()).orElse(1L << 16);
        ByteArrayOutputStream streamed = new ByteArrayOutputStream();
        CompletableFuture<Void> bodyDone = new CompletableFuture<>();
        DataChannel channel = connector.openData(workId, deadlineMs, frame -> {
            switch (frame) {
                case Frame.Chunk c -> {
                    if (!x.bodyOnStream()) {
                        throw new IllegalArgumentException("a body chunk for an exchange whose body rode in the command");
                    }
                    // Past the limit, keep one byte more than allowed: enough for the tunnel to refuse it by size.
                    int room = (int) Math.max(0, Math.min(c.data().length, maxBody + 1 - streamed.size()));
                    streamed.write(c.data(), 0, room);
                }
                case Frame.Eof e -> bodyDone.complete(null);
                default -> throw new IllegalArgumentException("unexpected frame " + name(frame) + " on an MCP exchange");
            }
        });
        channel.peerClosed().whenComplete((v, t) -> bodyDone.completeExceptionally(t != null ? t : new IOException("the stream ended")));
        byte[] body = x.body();
        if (x.bodyOnStream()) {
            try {
                bodyDone.get(Math.max(1, deadlineMs - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw failed("the body of MCP exchange " + workId, e.getCause());
            } catch (TimeoutException e) {
                channel.abort("deadline");
                throw new WorkException(WorkError.DEADLINE_EXCEEDED, "the request body did not arrive before the command deadline");
            }
            body = streamed.toByteArray();
        }
        McpResponseFrames sink = new McpResponseFrames(channel, deadlineMs, CHUNK);
        Map<String, String> headers = x.headers().entrySet().stream().collect(Collectors.toMap(
                e -> e.getKey().toLowerCase(Locale.ROOT), Map.Entry::getValue, (a, b) -> a));
        McpRequest request = new McpRequest(x.server(), x.method(), headers, body,
                new McpRequest.Caller(x.caller().user(), x.caller().agent(), x.caller().session()), x.publicUrl(), x.resourceMetadata());
        try {
            McpTunnel.Result r = tunnel.exchange(request, sink);
            if (!sink.ended() && !channel.peerClosed().isDone()) {
                channel.abort("the exchange ended without a complete response");
            }
            return new Outcome.McpDone(r.status(), r.requestBytes(), r.responseBytes());
        } catch (IOException e) {
            channel.abort("MCP exchange failed: " + e.getMessage());
            throw new WorkException(WorkError.UNAVAILABLE, "MCP exchange with '" + x.server() + "' broke off: " + e.getMessage());
        }
    }

    /** A frame's kind in messages (Chunk, Stdin, Resize, ...). */
    private static String name(Frame frame) {
        return frame.getClass().getSimpleName();
    }

    private static WorkException failed(String what, Throwable cause) {
        if (cause instanceof WorkException w) {
            return w;
        }
        return new WorkException(WorkError.UNAVAILABLE, what + " failed: the data stream broke (" + cause + ")");
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
