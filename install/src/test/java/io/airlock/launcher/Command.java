package io.airlock.launcher;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A command of this host run to its end within a deadline: exit status and stdout with stderr. */
final class Command {
    record Result(int exit, String out) {}

    private Command() {}

    static Result run(Duration max, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        // Read while it runs: a full pipe would stall it.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try {
                p.getInputStream().transferTo(out);
            } catch (IOException ignored) {
                // the process ended; what was read is kept
            }
        });
        if (!p.waitFor(max.toSeconds(), TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException(String.join(" ", command) + " did not finish within " + max + ":\n" + out);
        }
        reader.join(Duration.ofSeconds(10));
        return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
    }
}
