package io.airlock.connector.grpc.conformance;

import com.google.protobuf.ByteString;
import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.DataOpen;
import io.airlock.proto.v1.Error;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.Event;
import io.airlock.proto.v1.FileChunk;
import io.airlock.proto.v1.FileEof;
import io.airlock.proto.v1.FileResult;
import io.airlock.proto.v1.Hello;
import io.airlock.proto.v1.Ping;
import io.airlock.proto.v1.PolicyDenied;
import io.airlock.proto.v1.Welcome;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * A scripted agent run against a control plane: each rule an agent can observe, checked on its
 * own stream where it might break one, in an order where an earlier failure does not hide a
 * later rule. Every wait is bounded by {@code timeout}.
 */
public final class Conformance {
    /** Above 2^53: a control plane that keeps nonces in a double (JSON numbers, JavaScript) returns another value. */
    static final long WIDE_NONCE = 0x7FEDCBA987654321L;
    /** The protocol's largest message (docs/protocol.md); a control plane must take one this size. */
    static final int MAX_MESSAGE = 4 << 20;

    private final AgentIdentity identity;
    private final Supplier<ManagedChannel> channels;
    private final Duration timeout;
    private final Duration waitForCommands;

    /**
     * @param channels        a new channel to the control plane, with this identity's mTLS
     * @param waitForCommands how long to wait, connected, for commands from the control plane
     *                        (to check Data stream lifecycle); zero to not wait
     */
    public Conformance(AgentIdentity identity, Supplier<ManagedChannel> channels, Duration timeout, Duration waitForCommands) {
        this.identity = identity;
        this.channels = channels;
        this.timeout = timeout;
        this.waitForCommands = waitForCommands;
    }

    /** The control plane cannot be reached, or refuses this agent's certificate: no rule can be judged. */
    public static final class Unreachable extends Exception {
        Unreachable(String message) {
            super(message);
        }
    }

    public List<Verdict> run() throws InterruptedException, Unreachable {
        List<Verdict> verdicts = new ArrayList<>();
        ManagedChannel channel = channels.get();
        try {
            probe(channel);
            verdicts.add(helloFirst(channel));
            verdicts.add(helloNamesTheCertificatesAgent(channel));
            verdicts.add(dataOpenFirst(channel));
            verdicts.add(dataForAnUnknownCommand(channel));
            verdicts.addAll(session(channel));
            verdicts.add(overLimitMessage(channel));
        } finally {
            channel.shutdownNow();
        }
        return verdicts;
    }

    /** One Hello first: a transport or certificate failure here ends the run instead of passing rules that expect errors. */
    private void probe(ManagedChannel channel) throws InterruptedException, Unreachable {
        try (ControlSession s = new ControlSession(channel)) {
            s.send(AgentMessage.newBuilder().setHello(hello(identity.agentId(), "")).build());
            if (s.next(timeout) == null) {
                Status end = s.awaitEnd(Duration.ZERO);
                if (end != null && transportFailure(end)) {
                    throw new Unreachable("cannot reach the control plane's AgentGateway: " + end.getCode()
                            + (end.getDescription() == null ? "" : " (" + end.getDescription() + ")")
                            + (end.getCause() == null ? "" : ": " + end.getCause().getMessage()));
                }
            }
        }
    }

    /** Not the control plane's answer but a failed connection (or this agent's certificate refused). */
    private static boolean transportFailure(Status status) {
        return status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.UNAUTHENTICATED;
    }

    /** The control plane ended a stream with an error of its own (not OK, not a broken connection). */
    private static boolean refused(Status end) {
        return end != null && !end.isOk() && !transportFailure(end);
    }

    private Hello hello(String agentId, String resumeToken) {
        return Hello.newBuilder().setAgentId(agentId).setVersion("conformance").setResumeToken(resumeToken)
                .setPingIntervalMs(timeout.toMillis()).build();
    }

    private Verdict helloFirst(ManagedChannel channel) throws InterruptedException {
        String rule = "hello-before-anything";
        try (ControlSession s = new ControlSession(channel)) {
            s.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(1)).build());
            ControlPlaneMessage m = s.next(timeout);
            if (m != null && m.hasWelcome()) {
                return Verdict.fail(rule, "a Control stream that began with Ping got a Welcome (expected: the stream ended with an error)");
            }
            Status end = s.awaitEnd(timeout);
            if (end == null) {
                return Verdict.fail(rule, "a Control stream that began with Ping was still open after " + timeout
                        + " (expected: ended with an error, e.g. INVALID_ARGUMENT)");
            }
            return refused(end) ? Verdict.pass(rule, "a stream without Hello first ended " + end.getCode())
                    : Verdict.fail(rule, "a Control stream that began with Ping ended " + end.getCode() + " (expected: an error status of the "
                            + "control plane's, e.g. INVALID_ARGUMENT)");
        }
    }

    private Verdict helloNamesTheCertificatesAgent(ManagedChannel channel) throws InterruptedException {
        String rule = "hello-agent-id-checked";
        try (ControlSession s = new ControlSession(channel)) {
            s.send(AgentMessage.newBuilder().setHello(hello("not-" + identity.agentId(), "")).build());
            ControlPlaneMessage m = s.next(timeout);
            if (m != null && m.hasWelcome()) {
                return Verdict.fail(rule, "a Hello naming another agent than the client certificate's was welcomed "
                        + "(expected: the stream ended with PERMISSION_DENIED)");
            }
            Status end = s.awaitEnd(timeout);
            return !refused(end)
                    ? Verdict.fail(rule, "a Hello naming another agent did not end the stream with an error of the control plane's within "
                            + timeout + (end == null ? "" : " (it ended " + end.getCode() + ")"))
                    : Verdict.pass(rule, "a Hello naming another agent ended the stream " + end.getCode());
        }
    }

    private Verdict dataOpenFirst(ManagedChannel channel) throws InterruptedException {
        String rule = "data-open-first";
        DataSession d = new DataSession(channel);
        d.send(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFromUtf8("x"))).build());
        Status end = d.awaitEnd(timeout);
        d.cancel();
        return !refused(end)
                ? Verdict.fail(rule, "a Data stream whose first frame was not DataOpen was not ended with an error within " + timeout
                        + (end == null ? "" : " (it ended " + end.getCode() + ")"))
                : Verdict.pass(rule, "a Data stream without DataOpen first ended " + end.getCode());
    }

    private Verdict dataForAnUnknownCommand(ManagedChannel channel) throws InterruptedException {
        String rule = "data-unknown-command";
        DataSession d = new DataSession(channel);
        d.send(DataFrame.newBuilder().setOpen(DataOpen.newBuilder().setCommandId("conformance-" + UUID.randomUUID())).build());
        Status end = d.awaitEnd(timeout);
        d.cancel();
        return !refused(end)
                ? Verdict.fail(rule, "a Data stream for a command id never sent was not ended with an error within " + timeout
                        + " (expected: NOT_FOUND)" + (end == null ? "" : "; it ended " + end.getCode()))
                : Verdict.pass(rule, "a Data stream for an unknown command id ended " + end.getCode());
    }

    /** The rules of one welcomed session, then a reconnect with its resume token. */
    private List<Verdict> session(ManagedChannel channel) throws InterruptedException {
        List<Verdict> verdicts = new ArrayList<>();
        String resumeToken;
        try (ControlSession s = new ControlSession(channel)) {
            s.send(AgentMessage.newBuilder().setHello(hello(identity.agentId(), "")).build());
            ControlPlaneMessage first = s.next(timeout);
            if (first == null || !first.hasWelcome()) {
                verdicts.add(Verdict.fail("welcome-first", first == null
                        ? "no Welcome within " + timeout + " after Hello" + ended(s)
                        : "the first message after Hello was " + first.getBodyCase() + " (expected: Welcome)"));
                return verdicts;
            }
            Welcome welcome = first.getWelcome();
            verdicts.add(welcome.getSessionId().isEmpty() ? Verdict.fail("welcome-first", "Welcome came first but names no session_id")
                    : Verdict.pass("welcome-first", "Welcome came first (session " + welcome.getSessionId() + ")"));
            resumeToken = welcome.getResumeToken();
            verdicts.add(pongEchoes(s, "pong-echoes-64-bit-nonce", WIDE_NONCE));
            verdicts.add(pongEchoes(s, "pong-echoes-negative-nonce", -2));
            s.send(AgentMessage.newBuilder().setResult(CommandResult.newBuilder().setCommandId("conformance-" + UUID.randomUUID())
                    .setError(Error.newBuilder().setCode(ErrorCode.INTERNAL).setMessage("conformance: a result nobody asked for"))).build());
            verdicts.add(alive(s, "unknown-result-ignored", "after a CommandResult for a command id never sent"));
            s.send(AgentMessage.newBuilder().setEvent(Event.newBuilder().setAtMs(System.currentTimeMillis())
                    .setPolicyDenied(PolicyDenied.newBuilder().setCommandId("conformance").setRule("conformance")
                            .setMessage("x".repeat(MAX_MESSAGE - 1024)))).build());
            verdicts.add(alive(s, "accepts-4-mib-messages", "after a Control message of 4 MiB less 1 KiB"));
            verdicts.add(commands(s, channel));
        }
        try (ControlSession again = new ControlSession(channel)) {
            again.send(AgentMessage.newBuilder().setHello(hello(identity.agentId(), resumeToken)).build());
            ControlPlaneMessage m = again.next(timeout);
            verdicts.add(m != null && m.hasWelcome()
                    ? Verdict.pass("reconnect-welcomed", "a new Control stream with the resume token was welcomed again")
                    : Verdict.fail("reconnect-welcomed", "a new Control stream after the first one closed got "
                            + (m == null ? "no Welcome within " + timeout + ended(again) : m.getBodyCase() + " first (expected: Welcome)")));
        }
        return verdicts;
    }

    private Verdict pongEchoes(ControlSession s, String rule, long nonce) throws InterruptedException {
        s.send(AgentMessage.newBuilder().setPing(Ping.newBuilder().setNonce(nonce)).build());
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            ControlPlaneMessage m = s.next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (m == null) {
                break;
            }
            if (m.hasPong()) {
                return m.getPong().getNonce() == nonce ? Verdict.pass(rule, "Pong echoed nonce " + nonce)
                        : Verdict.fail(rule, "Ping nonce " + nonce + " came back as " + m.getPong().getNonce()
                                + " (expected: the same int64; a double or JSON number loses bits above 2^53)");
            }
        }
        return Verdict.fail(rule, "no Pong within " + timeout + " for Ping nonce " + nonce + ended(s));
    }

    /** The session still answers: a Ping gets its Pong. */
    private Verdict alive(ControlSession s, String rule, String after) throws InterruptedException {
        long nonce = System.nanoTime();
        Verdict v = pongEchoes(s, rule, nonce);
        return v.outcome() == Verdict.Outcome.PASS ? Verdict.pass(rule, "the session still answers Ping " + after)
                : Verdict.fail(rule, "the session stopped answering " + after + ": " + v.detail());
    }

    /**
     * Data stream lifecycle, on the commands the control plane sends while we wait: a ReadFile
     * gets a Data stream (DataOpen, FileChunk, FileEof, half-close) then its result; the control
     * plane must end that stream OK. Other commands are answered UNIMPLEMENTED.
     */
    private Verdict commands(ControlSession s, ManagedChannel channel) throws InterruptedException {
        String rule = "data-stream-lifecycle";
        if (waitForCommands.isZero()) {
            return new Verdict(rule, Verdict.Outcome.NOT_RUN, "not waiting for commands (--wait-for-commands 0)");
        }
        long deadline = System.nanoTime() + waitForCommands.toNanos();
        while (System.nanoTime() < deadline) {
            Command c = s.nextCommand(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (c == null) {
                break;
            }
            if (!c.hasReadFile()) {
                s.send(AgentMessage.newBuilder().setResult(CommandResult.newBuilder().setCommandId(c.getCommandId())
                        .setError(Error.newBuilder().setCode(ErrorCode.UNIMPLEMENTED)
                                .setMessage("the conformance agent answers read_file only"))).build());
                continue;
            }
            byte[] content = "airlock conformance\n".getBytes(StandardCharsets.UTF_8);
            DataSession d = new DataSession(channel);
            d.send(DataFrame.newBuilder().setOpen(DataOpen.newBuilder().setCommandId(c.getCommandId())).build());
            d.send(DataFrame.newBuilder().setFileChunk(FileChunk.newBuilder().setData(ByteString.copyFrom(content))).build());
            d.send(DataFrame.newBuilder().setFileEof(FileEof.getDefaultInstance()).build());
            d.halfClose();
            s.send(AgentMessage.newBuilder().setResult(CommandResult.newBuilder().setCommandId(c.getCommandId())
                    .setFile(FileResult.newBuilder().setPath(c.getReadFile().getPath()).setSize(content.length).setSha256(sha256(content))))
                    .build());
            Status end = d.awaitEnd(timeout);
            d.cancel();
            if (end == null) {
                return Verdict.fail(rule, "the Data stream of read_file " + c.getCommandId() + " was not ended by the control plane within "
                        + timeout + " after the agent half-closed it and sent the result");
            }
            return end.isOk() ? Verdict.pass(rule, "read_file " + c.getCommandId() + ": the control plane took the bytes and ended the "
                    + "Data stream OK") : Verdict.fail(rule, "read_file " + c.getCommandId() + ": the control plane ended the Data stream "
                    + end.getCode() + " " + end.getDescription() + " (expected: OK once FileEof arrived)");
        }
        return new Verdict(rule, Verdict.Outcome.NOT_RUN, "the control plane sent no read_file within " + waitForCommands);
    }

    private Verdict overLimitMessage(ManagedChannel channel) throws InterruptedException {
        String rule = "refuses-over-4-mib";
        try (ControlSession s = new ControlSession(channel)) {
            s.send(AgentMessage.newBuilder().setHello(hello(identity.agentId(), "")).build());
            ControlPlaneMessage first = s.next(timeout);
            if (first == null || !first.hasWelcome()) {
                return Verdict.fail(rule, "no Welcome to start from" + ended(s));
            }
            s.send(AgentMessage.newBuilder().setEvent(Event.newBuilder().setPolicyDenied(PolicyDenied.newBuilder()
                    .setMessage("x".repeat(MAX_MESSAGE + 1024)))).build());
            Status end = s.awaitEnd(timeout);
            if (end == null) {
                return Verdict.fail(rule, "a Control message over 4 MiB did not end the stream within " + timeout
                        + " (expected: RESOURCE_EXHAUSTED; the protocol's messages are at most 4 MiB)");
            }
            return end.getCode() == Status.Code.RESOURCE_EXHAUSTED || end.getCode() == Status.Code.CANCELLED
                    ? Verdict.pass(rule, "a message over 4 MiB ended the stream " + end.getCode())
                    : Verdict.fail(rule, "a message over 4 MiB ended the stream " + end.getCode() + " (expected: RESOURCE_EXHAUSTED)");
        }
    }

    private static String ended(ControlSession s) throws InterruptedException {
        Status end = s.hasEnded() ? s.awaitEnd(Duration.ZERO) : null;
        return end == null ? "" : " (the stream ended " + end.getCode() + (end.getDescription() == null ? "" : ": " + end.getDescription()) + ")";
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
