package io.airlock.driver.docker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.driver.DriverContext;
import io.airlock.driver.ExecRun;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.OutputChunk;
import io.airlock.driver.ResourceLimits;
import io.airlock.driver.SandboxDriver;
import io.airlock.driver.SandboxSpec;
import io.airlock.driver.TerminalSize;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Execs on a terminal in a real container: a pty, its size, a resize, ^C through the terminal. */
class DockerTerminalIT {
    @TempDir
    Path state;

    @Test
    void aTerminalExecSeesItsSizeAResizeAndInterruptFromTheTerminal() throws Exception {
        String image = TestEngine.image();
        SandboxDriver driver = new DockerDriverProvider().create(new DriverContext("tty-" + System.nanoTime(), state, Map.of("image", image)));
        try {
            driver.provision(new SandboxSpec("term", ResourceLimits.NONE, Map.of(), Map.of()));
            List<OutputChunk> chunks = new CopyOnWriteArrayList<>();
            // The first read waits out the engine's resize after start (API 1.41 has no size at exec start).
            String script = "tty; echo to-stderr >&2; read first; stty size; read second; stty size; echo term=$TERM;"
                    + " trap 'echo interrupted; exit 9' INT; echo waiting; while :; do sleep 0.1; done";
            Execution execution = Execution.start(driver, "term", ExecSpec.of("sh", "-c", script).withStdin(true)
                    .withTty(new TerminalSize(100, 30)), chunks::add);
            OutputStream stdin = execution.stdin();
            ExecRun.awaitOutput(chunks, "to-stderr", ExecRun.WAIT);
            stdin.write("\n".getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            ExecRun.awaitOutput(chunks, "30 100", ExecRun.WAIT);
            execution.resize(new TerminalSize(120, 40));
            stdin.write("\n".getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            ExecRun.awaitOutput(chunks, "waiting", ExecRun.WAIT);
            stdin.write(3); // ^C: the terminal turns it into SIGINT for the foreground process group
            stdin.flush();
            var outcome = execution.await(ExecRun.WAIT);
            String out = ExecRun.text(chunks, OutputChunk.Stream.STDOUT);
            assertEquals(9, outcome.exitCode(), out);
            assertTrue(out.contains("/dev/pts/"), "runs on a pty: " + out);
            assertTrue(out.contains("to-stderr"), "stderr is merged into the terminal: " + out);
            assertTrue(out.contains("40 120"), "the resize reached the terminal: " + out);
            assertTrue(out.contains("term=xterm"), "TERM is set for terminal execs: " + out);
            assertTrue(out.contains("interrupted"), out);
            assertTrue(out.contains("\r\n"), "the terminal translates newlines: " + out);
            assertEquals("", ExecRun.text(chunks, OutputChunk.Stream.STDERR));
        } finally {
            driver.destroy("term");
            driver.close();
        }
    }
}
