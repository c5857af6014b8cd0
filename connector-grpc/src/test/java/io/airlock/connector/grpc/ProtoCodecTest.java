package io.airlock.connector.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import io.airlock.core.work.Frame;
import io.airlock.core.work.Outcome;
import io.airlock.core.work.Work;
import io.airlock.core.work.WorkError;
import io.airlock.core.work.WorkItem;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.EgressPolicy;
import io.airlock.proto.v1.EgressRule;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.SendSignal;
import io.airlock.proto.v1.Signal;
import io.airlock.proto.v1.StartExec;
import io.airlock.proto.v1.TerminalSize;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The codec between airlock.v1 and the core's work types: every action decodes, every outcome and error encodes. */
class ProtoCodecTest {
    @Test
    void everyActionOfTheProtocolDecodesToWorkOfTheSameName() {
        for (Command.ActionCase action : Command.ActionCase.values()) {
            Command.Builder c = Command.newBuilder().setCommandId("c").setDeadlineMs(42);
            var field = Command.getDescriptor().findFieldByNumber(action.getNumber());
            if (field != null) {
                c.setField(field, c.newBuilderForField(field).build());
            }
            WorkItem item = ProtoCodec.work(c.build());
            assertEquals("c", item.id());
            assertEquals(42, item.deadlineMs());
            String expected = action == Command.ActionCase.ACTION_NOT_SET ? "unknown" : action.name().toLowerCase(Locale.ROOT);
            assertEquals(expected, item.work().action(), action.name());
        }
    }

    @Test
    void fieldsArriveAsSentForTheCoreToJudge() {
        Work.Provision p = assertInstanceOf(Work.Provision.class, ProtoCodec.work(Command.newBuilder().setCommandId("p")
                .setProvision(ProvisionSandbox.newBuilder().setSandboxId("b").putEnv("K", "V").setEgress(EgressPolicy.newBuilder()
                        .addRules(EgressRule.newBuilder().setDomain("pypi.org").addPorts(443))
                        .addRules(EgressRule.newBuilder().setCidr("10.0.0.0/8")))).build()).work());
        assertEquals(Map.of("K", "V"), p.env());
        assertEquals(List.of(new Work.RuleSpec("pypi.org", "", List.of(443)), new Work.RuleSpec("", "10.0.0.0/8", List.of())), p.egress());
        Work.Provision none = assertInstanceOf(Work.Provision.class, ProtoCodec.work(Command.newBuilder().setCommandId("q")
                .setProvision(ProvisionSandbox.newBuilder().setSandboxId("b")).build()).work());
        assertNull(none.egress(), "no allowlist sent is not an empty one");
        Work.Exec x = assertInstanceOf(Work.Exec.class, ProtoCodec.work(Command.newBuilder().setCommandId("x").setExec(StartExec.newBuilder()
                .setSandboxId("b").addArgv("sh").setTty(true).setTerminalSize(TerminalSize.newBuilder().setColumns(100).setRows(30))
                .setResumeFromSeq(Long.MAX_VALUE)).build()).work());
        assertEquals(Long.MAX_VALUE, x.resumeFromSeq());
        assertEquals(100, x.columns());
        assertEquals("SIGNAL_UNSPECIFIED", assertInstanceOf(Frame.Signal.class,
                ProtoCodec.inbound(DataFrame.newBuilder().setSignal(SendSignal.getDefaultInstance()).build())).name());
        assertEquals("SIGTERM", assertInstanceOf(Frame.Signal.class,
                ProtoCodec.inbound(DataFrame.newBuilder().setSignal(SendSignal.newBuilder().setSignal(Signal.SIGTERM)).build())).name());
        assertNull(ProtoCodec.inbound(DataFrame.newBuilder().setOutput(OutputChunk.newBuilder().setData(ByteString.EMPTY)).build()),
                "output is the agent's to send");
    }

    @Test
    void everyErrorKeepsItsProtocolName() {
        for (WorkError e : WorkError.values()) {
            CommandResult r = ProtoCodec.result("c", new Outcome.Failed(e, "why"));
            assertEquals(ErrorCode.valueOf(e.name()), r.getError().getCode());
            assertEquals("why", r.getError().getMessage());
        }
        CommandResult exec = ProtoCodec.result("c", new Outcome.ExecDone(3, true, false, 10, 2, 99));
        assertEquals(3, exec.getExec().getExitCode());
        assertEquals(99, exec.getExec().getDurationMs());
        CommandResult sandbox = ProtoCodec.result("c", new Outcome.SandboxDone(new Outcome.SandboxView("b", "docker", "PAUSED", 5,
                Map.of("a", "b"), List.of(new Work.RuleSpec("", "10.0.0.0/8", List.of(22))))));
        assertEquals("PAUSED", sandbox.getSandbox().getState().name());
        assertEquals("10.0.0.0/8", sandbox.getSandbox().getEgress().getRules(0).getCidr());
    }

    @Test
    void anMcpResponsesBuffersCrossAsOneChunkAndTheHeadCarriesItsBodyAndEnd() throws Exception {
        ByteBuffer a = ByteBuffer.wrap("__hello, ".getBytes(StandardCharsets.US_ASCII), 2, 7);
        ByteBuffer b = ByteBuffer.wrap("world".getBytes(StandardCharsets.US_ASCII));
        DataFrame chunk = ProtoCodec.outbound(new Frame.Body(List.of(a, b)));
        assertEquals("hello, world", chunk.getFileChunk().getData().toStringUtf8());
        DataFrame head = ProtoCodec.outbound(new Frame.HttpHead(200, Map.of("content-type", "application/json"), List.of(b), true));
        assertEquals(200, head.getHttpHead().getStatus());
        assertEquals("world", head.getHttpHead().getBody().toStringUtf8());
        assertEquals(true, head.getHttpHead().getEnd());
        DataFrame parsed = DataFrame.parseFrom(chunk.toByteArray());
        assertEquals("hello, world", parsed.getFileChunk().getData().toStringUtf8(), "as the control plane reads it off the wire");
    }
}
