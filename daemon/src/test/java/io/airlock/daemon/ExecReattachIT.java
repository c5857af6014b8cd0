package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.OutputChunk;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.StartExec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An exec outlives a broken link: the control plane re-attaches and gets every line once, in order. */
class ExecReattachIT {
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        fx.close();
    }

    @Test
    void anExecKeepsRunningThroughALinkFailureAndTheControlPlaneReattachesFromItsLastSequenceNumber() throws Exception {
        fx = new AgentFixture(dir);
        try (BlackholeRelay relay = new BlackholeRelay(fx.port)) {
            fx.enrollAndStart("127.0.0.1:" + relay.port());
            fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("longrun").build(), Duration.ofSeconds(30));
            List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
            CompletableFuture<ExecResult> exec = CompletableFuture.supplyAsync(() -> fx.cp.agents().exec(fx.agentId,
                    StartExec.newBuilder().setSandboxId("longrun")
                            .addAllArgv(List.of("sh", "-c", "for i in $(seq 1 10); do echo line$i; sleep 0.4; done")).build(),
                    null, chunks::add, Duration.ofSeconds(90)));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (chunks.size() < 2) {
                assertTrue(System.nanoTime() < deadline, "the exec's first output did not arrive");
                Thread.sleep(20);
            }
            relay.blackhole(true);
            fx.awaitEvent("disconnected", Duration.ofSeconds(10));
            Thread.sleep(1000); // the exec keeps writing while nobody listens
            relay.blackhole(false);
            fx.awaitEvent("connected", Duration.ofSeconds(30));

            ExecResult result = exec.get(60, TimeUnit.SECONDS);
            assertEquals(0, result.getExitCode());
            StringBuilder out = new StringBuilder();
            long previous = 0;
            for (OutputChunk c : chunks) {
                assertTrue(c.getSeq() > previous, "sequence numbers only grow: " + chunks);
                previous = c.getSeq();
                out.append(c.getData().toStringUtf8());
            }
            StringBuilder expected = new StringBuilder();
            for (int i = 1; i <= 10; i++) {
                expected.append("line").append(i).append('\n');
            }
            assertEquals(expected.toString(), out.toString(), "every line once, in order, across the re-attach");
        }
    }
}
