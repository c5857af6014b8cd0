package io.airlock.connector.worker.tools;

import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecOutcome;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.FileUpload;
import io.airlock.driver.OutputChunk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * One shell per session thread, kept between calls (cwd, variables and functions persist), run
 * inside the sandbox through its driver. Each command is written to the shell's stdin wrapped as
 * {@code { cmd\n} </dev/null; printf '\nSENTINEL%d\n' $?; printf '\nSENTINEL0\n' >&2}: its
 * output on each stream is what came before that stream's sentinel ({@link CommandStream}). The
 * answer is put together as the SDK 1.16 shell does it: stdout then stderr, stderr first when the
 * command failed, the first 30,000 characters kept and the whole output saved to a file in the
 * sandbox whose path the answer names. A command past its timeout kills the shell, and a shell
 * that ended ({@code exit}, a timeout) is gone: every later call is refused until one asks for a
 * {@link #restart()}, as the SDK's shell does (a silent new shell would lose the state the agent
 * relies on without telling it).
 */
final class BashShell implements AutoCloseable {
    /** The SDK's pattern of what it strips from an answer: CSI sequences. */
    private static final Pattern ANSI = Pattern.compile("\u001B\\[[0-9;?]*[ -/]*[@-~]");
    /** bash when the image has it, else the image's sh; no profile or rc files, no prompt. */
    private static final List<String> ARGV = List.of("/bin/sh", "-c",
            "if [ -x /bin/bash ]; then exec /bin/bash --noprofile --norc; fi; exec /bin/sh");
    private static final Map<String, String> ENV = Map.of("PS1", "", "PS2", "", "TERM", "dumb");

    /** How a command ended. */
    record Outcome(String output, int exitCode, boolean timedOut, String note, boolean shellGone) {
        Outcome(String output, int exitCode, boolean timedOut, String note) {
            this(output, exitCode, timedOut, note, false);
        }
    }

    /** The answer to a call after the shell is gone: the command did not run. */
    static final Outcome NOT_RUN = new Outcome("", -1, false, "", true);

    private final SandboxService sandboxes;
    private final String sandboxId;
    /** Where a long output is saved in the sandbox (a driver path); the last one saved is removed when the next is. */
    private final String savedDir;
    private String lastSaved;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition grew = lock.newCondition();
    /** The running shell; set and cleared under {@link #lock}, so a kill from another thread wakes a waiting call. */
    private volatile Execution shell;
    private long relayed;
    /** The running command's streams; null between commands (output then is the shell's, and dropped). */
    private CommandStream out;
    private CommandStream err;
    private IOException spoolFailure;
    private boolean ended;
    /** The shell ended (exit, timeout): calls are refused until a restart. */
    private volatile boolean gone;

    BashShell(SandboxService sandboxes, String sandboxId, String savedDir) {
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
        this.savedDir = savedDir;
    }

    /** Kills the shell and forgets that it was gone: the next call starts a new one. */
    void restart() {
        kill();
        gone = false;
    }

    Outcome run(String command, Duration timeout) throws DriverException, PolicyDeniedException, InterruptedException {
        if (gone) {
            return NOT_RUN;
        }
        String note = "";
        if (shell != null && relayed > sandboxes.policy().maxOutputCap() / 2) {
            kill(); // its output cap spans its life; start afresh before output would be dropped
            note = "[a new shell was started: the previous one had relayed half of policy.exec.max_output_cap]\n";
        }
        if (shell == null) {
            start();
        }
        Execution current = shell;
        String sentinel = "__AIRLOCK_" + UUID.randomUUID().toString().replace("-", "") + "_DONE__";
        // Split in the echoed command so that only printf's output contains the sentinel whole.
        String split = sentinel.substring(0, 8) + "''" + sentinel.substring(8);
        CommandStream o = new CommandStream(sentinel);
        CommandStream e = new CommandStream(sentinel);
        lock.lock();
        try {
            out = o;
            err = e;
            spoolFailure = null;
        } finally {
            lock.unlock();
        }
        try {
            try {
                current.stdin().write(("{ " + command + "\n} </dev/null; printf '\\n" + split + "%d\\n' $?; printf '\\n" + split
                        + "0\\n' >&2\n").getBytes(StandardCharsets.UTF_8));
                current.stdin().flush();
            } catch (IOException x) {
                kill();
                return new Outcome("", -1, false, note + "[the shell ended before it took the command: " + x.getMessage() + "]");
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            lock.lock();
            try {
                while (true) {
                    if (o.status != null && e.status != null) {
                        return new Outcome(answer(o.status, ""), o.status, false, note);
                    }
                    if (shell != current) {
                        return new Outcome(answer(-1, ""), -1, false, note + "[the shell was killed: the session's work is ending]");
                    }
                    if (ended) {
                        shell = null;
                        gone = true;
                        ExecOutcome exited = current.outcome().getNow(null);
                        int code = exited == null ? -1 : exited.exitCode();
                        return new Outcome(answer(code, ""), code, false, note, true);
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        lock.unlock();
                        try {
                            kill();
                        } finally {
                            lock.lock();
                        }
                        gone = true;
                        return new Outcome(answer(-1, "\ncommand timed out after " + seconds(timeout) + "s\n"), -1, true, note, true);
                    }
                    grew.await(left, TimeUnit.NANOSECONDS);
                }
            } finally {
                out = null;
                err = null;
                lock.unlock();
            }
        } finally {
            o.close();
            e.close();
        }
    }

    /** As JavaScript prints ms / 1000: 0.5, 295. */
    static String seconds(Duration d) {
        return java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString();
    }

    /**
     * The SDK's answer: stdout then stderr (stderr first when the command failed, for the reason
     * is usually there), a line between them when there is stderr, the end's newlines dropped;
     * past 30,000 characters the start, how many lines were cut, and the saved file. Called under
     * the lock, with the command's streams complete.
     */
    private String answer(int exitCode, String stderrEnd) {
        CommandStream o = out;
        CommandStream e = err;
        try {
            o.end("");
            e.end(stderrEnd);
        } catch (IOException x) {
            spoolFailure = x;
        }
        CommandStream first = exitCode == 0 ? o : e;
        CommandStream second = exitCode == 0 ? e : o;
        String separator = e.start.isEmpty() ? "" : "\n";
        String whole = first.start + separator + second.start;
        if (whole.length() <= CommandStream.LIMIT) {
            return ANSI.matcher(whole).replaceAll("").replaceAll("\n+$", "");
        }
        String kept = CommandStream.startOf(whole, CommandStream.LIMIT);
        long cut = 1 + first.lineBreaks + separator.length() + second.lineBreaks - CommandStream.lineBreaks(kept);
        return ANSI.matcher(kept).replaceAll("") + "\n\n... [" + cut + " lines truncated] " + save(first, separator, second) + "...";
    }

    /** Writes the whole output into the sandbox; the sentence naming it, or "" when it could not be written (as the SDK). */
    private String save(CommandStream first, String separator, CommandStream second) {
        if (savedDir == null || spoolFailure != null) {
            return "";
        }
        String previous = lastSaved;
        lastSaved = null;
        if (previous != null) {
            remove(previous);
        }
        String path = savedDir + "/" + UUID.randomUUID() + ".txt";
        long room;
        try {
            FileUpload up = sandboxes.openWrite(sandboxId, path, 0600);
            try {
                room = first.copyTo(up, CommandStream.SAVED_BYTES);
                room = CommandStream.write(up, separator.getBytes(StandardCharsets.UTF_8), room);
                room = second.copyTo(up, room);
                up.close();
            } catch (IOException x) {
                up.abort();
                return "";
            }
        } catch (DriverException x) {
            return "";
        }
        lastSaved = path;
        String what = room < 0 ? "First " + (CommandStream.SAVED_BYTES >> 20) + " MiB of output" : "Full output";
        return what + " saved to: " + Workdir.shown(path) + " \u2014 use read with view_range to read specific portions. ";
    }

    /** The file API has no delete; a short exec of rm does it. */
    private void remove(String path) {
        try {
            ExecSpec spec = sandboxes.execSpec(List.of("rm", "-f", "--", Workdir.shown(path)), Map.of(), "", 10_000, 0, 4096, false, null);
            sandboxes.startExec(sandboxId, spec, c -> { }).await(Duration.ofSeconds(15));
        } catch (DriverException | PolicyDeniedException | java.util.concurrent.TimeoutException x) {
            // an old saved output left behind in the sandbox's own directory
        } catch (InterruptedException x) {
            Thread.currentThread().interrupt();
        }
    }

    private void start() throws DriverException, PolicyDeniedException, InterruptedException {
        ExecSpec spec = sandboxes.execSpec(ARGV, ENV, "", sandboxes.policy().maxExecTimeout().toMillis(), 0,
                sandboxes.policy().maxOutputCap(), true, null);
        lock.lock();
        try {
            ended = false;
            relayed = 0;
        } finally {
            lock.unlock();
        }
        Execution e = sandboxes.startExec(sandboxId, spec, this::append);
        lock.lock();
        try {
            shell = e; // before the exit callback is registered: a shell that exits at once is still seen to end
        } finally {
            lock.unlock();
        }
        e.outcome().whenComplete((o, t) -> {
            lock.lock();
            try {
                if (shell == e) {
                    ended = true;
                    grew.signalAll();
                }
            } finally {
                lock.unlock();
            }
        });
    }

    private void append(OutputChunk chunk) {
        lock.lock();
        try {
            relayed += chunk.data().length;
            CommandStream target = chunk.stream() == OutputChunk.Stream.STDERR ? err : out;
            if (target != null) {
                try {
                    target.append(chunk.data());
                } catch (IOException e) {
                    spoolFailure = e; // the answer keeps its start; only the saved file is lost
                }
            }
            grew.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Kills the shell and whatever it runs; a call waiting on it returns at once, and the next call starts a new one. */
    void kill() {
        Execution e;
        lock.lock();
        try {
            e = shell;
            shell = null;
            grew.signalAll();
        } finally {
            lock.unlock();
        }
        if (e != null) {
            e.kill();
        }
    }

    @Override
    public void close() {
        kill();
    }
}
