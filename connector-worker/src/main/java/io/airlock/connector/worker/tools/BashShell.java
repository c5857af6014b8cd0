package io.airlock.connector.worker.tools;

import io.airlock.core.policy.PolicyDeniedException;
import io.airlock.core.sandbox.SandboxService;
import io.airlock.driver.DriverException;
import io.airlock.driver.ExecOutcome;
import io.airlock.driver.ExecSpec;
import io.airlock.driver.Execution;
import io.airlock.driver.OutputChunk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;

/**
 * One shell per session, kept between calls (cwd, variables and functions persist), run inside
 * the sandbox through its driver. Each command is written to the shell's stdin wrapped as
 * {@code { cmd\n} </dev/null 2>&1; printf '\nSENTINEL%d\n' $?}, and its output is what came
 * before the sentinel; only the last {@value #KEEP} bytes are kept. A command past its timeout
 * kills the shell, and a shell that ended ({@code exit}, a timeout) is gone: every later call is
 * refused until one asks for a {@link #restart()}, as the SDK's shell does (a silent new shell
 * would lose the state the agent relies on without telling it).
 */
final class BashShell implements AutoCloseable {
    static final int KEEP = 100 * 1024;
    private static final Pattern ANSI = Pattern.compile("\u001B(?:\\[[0-?]*[ -/]*[@-~]|\\][^\u0007\u001B]*(?:\u0007|\u001B\\\\)|[@-Z\\\\-_])");
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
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition grew = lock.newCondition();
    /** The running shell; set and cleared under {@link #lock}, so a kill from another thread wakes a waiting call. */
    private volatile Execution shell;
    private long relayed;
    private byte[] buf = new byte[4096];
    private int len;
    private boolean truncated;
    private boolean ended;
    /** The shell ended (exit, timeout): calls are refused until a restart. */
    private volatile boolean gone;

    BashShell(SandboxService sandboxes, String sandboxId) {
        this.sandboxes = sandboxes;
        this.sandboxId = sandboxId;
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
        byte[] marker = sentinel.getBytes(StandardCharsets.US_ASCII);
        lock.lock();
        try {
            len = 0;
            truncated = false;
        } finally {
            lock.unlock();
        }
        try {
            current.stdin().write(("{ " + command + "\n} </dev/null 2>&1; printf '\\n" + split + "%d\\n' $?\n").getBytes(StandardCharsets.UTF_8));
            current.stdin().flush();
        } catch (IOException e) {
            kill();
            return new Outcome("", -1, false, note + "[the shell ended before it took the command: " + e.getMessage() + "]");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (true) {
                int at = indexOf(buf, len, marker);
                if (at >= 0) {
                    int end = at + marker.length;
                    int nl = indexOf(buf, len, new byte[] {'\n'}, end);
                    if (nl > 0) {
                        int code = parse(new String(buf, end, nl - end, StandardCharsets.US_ASCII));
                        return new Outcome(text(at), code, false, note);
                    }
                }
                if (shell != current) {
                    return new Outcome(text(len), -1, false, note + "[the shell was killed: the session's work is ending]");
                }
                if (ended) {
                    String out = text(len);
                    shell = null;
                    gone = true;
                    ExecOutcome exited = current.outcome().getNow(null);
                    return new Outcome(out, exited == null ? -1 : exited.exitCode(), false, note, true);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    String out = text(len);
                    lock.unlock();
                    try {
                        kill();
                    } finally {
                        lock.lock();
                    }
                    gone = true;
                    return new Outcome(out, -1, true, note, true);
                }
                grew.await(left, TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
    }

    private String text(int end) {
        int start = Math.max(0, end - KEEP);
        String s = ANSI.matcher(new String(buf, start, end - start, StandardCharsets.UTF_8)).replaceAll("");
        s = s.replaceAll("\n+$", "");
        return truncated || start > 0 ? "[output truncated]\n" + s : s;
    }

    private static int parse(String digits) {
        try {
            return Integer.parseInt(digits.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void start() throws DriverException, PolicyDeniedException, InterruptedException {
        ExecSpec spec = sandboxes.execSpec(ARGV, ENV, "", sandboxes.policy().maxExecTimeout().toMillis(), 0,
                sandboxes.policy().maxOutputCap(), true, null);
        lock.lock();
        try {
            ended = false;
            relayed = 0;
            len = 0;
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
        byte[] d = chunk.data();
        lock.lock();
        try {
            relayed += d.length;
            if (len + d.length > buf.length) {
                if (len + d.length > 2 * KEEP) {
                    // Keep the tail only: the sentinel comes last, and the agent gets the last KEEP bytes.
                    int keep = Math.min(len, KEEP);
                    System.arraycopy(buf, len - keep, buf, 0, keep);
                    len = keep;
                    truncated = true;
                }
                if (len + d.length > buf.length) {
                    buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + d.length));
                }
            }
            System.arraycopy(d, 0, buf, len, d.length);
            len += d.length;
            grew.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private static int indexOf(byte[] hay, int len, byte[] needle) {
        return indexOf(hay, len, needle, 0);
    }

    private static int indexOf(byte[] hay, int len, byte[] needle, int from) {
        outer:
        for (int i = from; i <= len - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
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
