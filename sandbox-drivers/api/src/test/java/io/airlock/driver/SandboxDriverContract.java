package io.airlock.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The behaviour every driver must have. A driver's test subclasses this and supplies
 * {@link #createDriver}; the same assertions then run against every backend. A test of a
 * capability the driver does not claim checks that the driver refuses it, then aborts (it shows
 * as skipped, with the reason), so a report never counts an untested capability as passed.
 */
public abstract class SandboxDriverContract {

    @TempDir
    protected Path stateDir;

    protected SandboxDriver driver;
    private final List<String> created = new ArrayList<>();

    /** Creates the driver under test over {@code stateDir}; called once per test (and again to test reconcile). */
    protected abstract SandboxDriver createDriver(Path stateDir) throws Exception;

    @BeforeEach
    void openDriver() throws Exception {
        driver = createDriver(stateDir);
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (String id : created) {
            driver.destroy(id);
        }
        driver.close();
        afterDriverClosed();
    }

    /** For drivers that leave shared things behind on purpose (e.g. warm pools): remove them here. */
    protected void afterDriverClosed() throws Exception {}

    protected Sandbox newSandbox() throws DriverException {
        String id = "t-" + UUID.randomUUID().toString().substring(0, 8);
        created.add(id);
        return driver.provision(new SandboxSpec(id, ResourceLimits.NONE, Map.of("GREETING", "hello"), Map.of("suite", "contract")));
    }

    /** Aborts the test, saying why, when the driver does not claim {@code capability}. */
    protected void requireCapability(Capability capability) {
        Assumptions.assumeTrue(driver.capabilities().contains(capability),
                () -> "the " + driver.name() + " driver does not claim " + capability.wireName());
    }

    protected ExecRun run(String sandboxId, ExecSpec spec, byte[] stdin) throws Exception {
        return ExecRun.of(driver, sandboxId, spec, stdin);
    }

    @Test
    void provisionIsIdempotentOnSandboxId() throws Exception {
        Sandbox first = newSandbox();
        Sandbox again = driver.provision(new SandboxSpec(first.id(), ResourceLimits.NONE, Map.of(), Map.of()));
        assertEquals(first.id(), again.id());
        assertEquals(first.createdAt(), again.createdAt());
        assertEquals(1, driver.list().stream().filter(s -> s.id().equals(first.id())).count());
        assertEquals(SandboxState.READY, driver.get(first.id()).orElseThrow().state());
    }

    @Test
    void runsCommandAndReportsExitCodeAndSandboxEnv() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        ExecRun run = run(box.id(), ExecSpec.of("sh", "-c", "echo $GREETING; exit 3"), null);
        assertEquals("hello\n", run.stdout());
        assertEquals(3, run.outcome().exitCode());
        assertFalse(run.outcome().timedOut());
    }

    @Test
    void stdinEndOfFileReachesTheProcess() throws Exception {
        requireCapability(Capability.EXEC_STDIN);
        Sandbox box = newSandbox();
        ExecRun run = run(box.id(), ExecSpec.of("cat").withStdin(true), "line one\nline two\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("line one\nline two\n", run.stdout());
        assertEquals(0, run.outcome().exitCode(), "cat exits 0 only after reading end-of-file");
    }

    @Test
    void timeoutKillsTheProcessAndSaysSo() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        ExecRun run = run(box.id(), ExecSpec.of("sh", "-c", "echo started; sleep 600; echo never").withTimeout(Duration.ofMillis(500)), null);
        assertTrue(run.outcome().timedOut(), "outcome must say the process timed out");
        assertEquals("started\n", run.stdout());
        assertTrue(run.outcome().exitCode() != 0, "a killed process has a non-zero exit code");
    }

    @Test
    void outputPastTheCapIsTruncatedAndFlagged() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        ExecRun run = run(box.id(), ExecSpec.of("sh", "-c", "head -c 100000 /dev/zero").withOutputCap(1000), null);
        assertEquals(1000, run.stdout().length());
        assertTrue(run.outcome().outputTruncated());
        assertEquals(100000, run.outcome().stdoutBytes(), "the whole output is drained and counted");
        assertEquals(0, run.outcome().exitCode(), "the process is not stuck on a full pipe");
    }

    @Test
    void stdoutAndStderrStaySeparateAndOrdered() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        String script = "for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; sleep 0.05; done";
        ExecRun run = run(box.id(), ExecSpec.of("sh", "-c", script), null);
        assertEquals("out1\nout2\nout3\nout4\nout5\n", run.stdout());
        assertEquals("err1\nerr2\nerr3\nerr4\nerr5\n", run.stderr());
        long expected = 1;
        for (OutputChunk chunk : run.chunks()) {
            assertEquals(expected++, chunk.seq(), "sequence numbers count chunks of both streams without gaps");
        }
    }

    @Test
    void aSignalReachesTheProcessWhichMayCatchIt() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        List<OutputChunk> chunks = new java.util.concurrent.CopyOnWriteArrayList<>();
        Execution execution = Execution.start(driver, box.id(), ExecSpec.of("sh", "-c",
                "trap 'echo caught-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done"), chunks::add);
        ExecRun.awaitOutput(chunks, "ready\n", ExecRun.WAIT);
        if (!driver.capabilities().contains(Capability.EXEC_SIGNAL)) {
            DriverException refused = assertThrows(DriverException.class, () -> execution.signal(ProcessSignal.TERM));
            assertEquals(DriverException.Kind.UNIMPLEMENTED, refused.kind());
            execution.kill();
            requireCapability(Capability.EXEC_SIGNAL);
        }
        execution.signal(ProcessSignal.TERM);
        ExecOutcome outcome = execution.await(ExecRun.WAIT);
        assertEquals(7, outcome.exitCode(), "the trap ran and chose the exit code");
        assertEquals("ready\ncaught-term\n", ExecRun.text(chunks, OutputChunk.Stream.STDOUT));
        assertFalse(outcome.timedOut());
    }

    @Test
    void aProcessThatDoesNotCatchASignalDiesOfIt() throws Exception {
        requireCapability(Capability.EXEC);
        Sandbox box = newSandbox();
        List<OutputChunk> chunks = new java.util.concurrent.CopyOnWriteArrayList<>();
        // exec: the shell becomes sleep, which has no handler for USR1, so USR1 kills it.
        Execution execution = Execution.start(driver, box.id(), ExecSpec.of("sh", "-c", "echo ready; exec sleep 600"), chunks::add);
        ExecRun.awaitOutput(chunks, "ready\n", ExecRun.WAIT);
        if (!driver.capabilities().contains(Capability.EXEC_SIGNAL)) {
            assertThrows(DriverException.class, () -> execution.signal(ProcessSignal.USR1));
            execution.kill();
            requireCapability(Capability.EXEC_SIGNAL);
        }
        execution.signal(ProcessSignal.USR1);
        assertEquals(128 + ProcessSignal.USR1.number(), execution.await(ExecRun.WAIT).exitCode());
    }

    @Test
    void writtenFileReadsBackAndIsVisibleToProcesses() throws Exception {
        Sandbox box = newSandbox();
        byte[] content = "twelve bytes".getBytes(StandardCharsets.UTF_8);
        try (OutputStream out = driver.openWrite(box.id(), "dir/sub/file.txt", 0644)) {
            out.write(content);
        }
        try (InputStream in = driver.openRead(box.id(), "dir/sub/file.txt")) {
            assertArrayEquals(content, in.readAllBytes());
        }
        List<FileEntry> entries = driver.listFiles(box.id(), "", true);
        assertTrue(entries.stream().anyMatch(e -> e.path().equals("dir/sub/file.txt") && e.size() == 12
                && e.type() == FileEntry.Type.REGULAR), "listing: " + entries);
        requireCapability(Capability.EXEC);
        assertEquals("twelve bytes", run(box.id(), ExecSpec.of("cat", "dir/sub/file.txt"), null).stdout());
    }

    @Test
    void anAbortedUploadLeavesTheOldFileInPlace() throws Exception {
        Sandbox box = newSandbox();
        try (OutputStream out = driver.openWrite(box.id(), "keep.txt", 0644)) {
            out.write("old".getBytes(StandardCharsets.UTF_8));
        }
        FileUpload upload = driver.openWrite(box.id(), "keep.txt", 0644);
        upload.write("half of the new cont".getBytes(StandardCharsets.UTF_8));
        upload.abort();
        upload.close();
        try (InputStream in = driver.openRead(box.id(), "keep.txt")) {
            assertEquals("old", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertEquals(List.of("keep.txt"), driver.listFiles(box.id(), "", false).stream().map(FileEntry::path).toList(),
                "no temporary file is left behind");
    }

    @Test
    void pathsEscapingTheSandboxAreRefused() throws Exception {
        Sandbox box = newSandbox();
        assertRefused(() -> driver.openRead(box.id(), "../../etc/passwd"), "..");
        assertRefused(() -> driver.openRead(box.id(), "/etc/passwd"), "absolute");
        assertRefused(() -> driver.openWrite(box.id(), "a/../../x", 0644), "..");
        assertRefused(() -> driver.stat(box.id(), "../x"), "..");
        requireCapability(Capability.EXEC); // the symbolic links below are made by a process in the sandbox
        ExecRun ln = run(box.id(), ExecSpec.of("ln", "-s", "/etc", "escape"), null);
        assertEquals(0, ln.outcome().exitCode(), ln.stderr());
        assertRefused(() -> driver.openRead(box.id(), "escape/passwd"), "symbolic link");
        assertRefused(() -> driver.openWrite(box.id(), "escape/evil", 0644), "symbolic link");
        assertRefused(() -> driver.listFiles(box.id(), "escape", false), "symbolic link");
        assertRefused(() -> driver.stat(box.id(), "escape/passwd"), "symbolic link");
        assertRefused(() -> driver.stat(box.id(), "../x"), "..");
        assertEquals(FileEntry.Type.SYMLINK, driver.stat(box.id(), "escape").type(), "a final symlink is reported, not followed");
        if (driver.capabilities().contains(Capability.FILES_ARCHIVE)) {
            assertRefused(() -> driver.extractArchive(box.id(), "escape", Tars.of()), "symbolic link");
            assertRefused(() -> driver.openArchiveRead(box.id(), "escape/passwd"), "symbolic link");
        }
    }

    @Test
    void statReportsTypeSizeAndTime() throws Exception {
        Sandbox box = newSandbox();
        java.time.Instant before = java.time.Instant.now().minusSeconds(5);
        try (FileUpload up = driver.openWrite(box.id(), "d/five.txt", 0644)) {
            up.write("12345".getBytes(StandardCharsets.UTF_8));
        }
        FileEntry f = driver.stat(box.id(), "d/five.txt");
        assertEquals(new FileEntry("d/five.txt", FileEntry.Type.REGULAR, 5, f.modifiedAt()), f);
        assertTrue(f.modifiedAt().isAfter(before), "modified " + f.modifiedAt());
        assertEquals(FileEntry.Type.DIRECTORY, driver.stat(box.id(), "d").type());
        assertEquals(FileEntry.Type.DIRECTORY, driver.stat(box.id(), "").type(), "the workspace itself");
        DriverException missing = assertThrows(DriverException.class, () -> driver.stat(box.id(), "d/nope"));
        assertEquals(DriverException.Kind.NOT_FOUND, missing.kind());
    }

    @Test
    void anArchiveExtractsSafelyAndComesBackOut() throws Exception {
        Sandbox box = newSandbox();
        if (!driver.capabilities().contains(Capability.FILES_ARCHIVE)) {
            assertThrows(DriverException.class, () -> driver.extractArchive(box.id(), "x", Tars.of()));
        }
        requireCapability(Capability.FILES_ARCHIVE);
        byte[] tar = Tars.bytes(Tars.dir("src/"), Tars.file("src/a.txt", "alpha\n", 0644), Tars.symlink("src/link", "a.txt"),
                Tars.hardlink("src/hard", "src/a.txt"), Tars.file("bin/tool", "#!/bin/sh\necho tool\n", 04755));
        SafeTar.Summary summary = driver.extractArchive(box.id(), "unpacked/deep", new java.io.ByteArrayInputStream(tar));
        assertEquals(5, summary.entries());
        ExecRun check = ExecRun.sh(driver, box.id(), "cd unpacked/deep && cat src/a.txt && readlink src/link && cat src/hard"
                + " && stat -c '%a' bin/tool && touch src/new && id -u && stat -c '%u' src/a.txt");
        assertEquals(0, check.outcome().exitCode(), check.stderr());
        String[] lines = check.stdout().split("\n");
        assertEquals(List.of("alpha", "a.txt", "alpha", "755"), List.of(lines).subList(0, 4), "set-id bits are stripped: " + check.stdout());
        assertEquals(lines[4], lines[5], "files belong to the sandbox user");

        Map<String, String> back = Tars.read(driver.openArchiveRead(box.id(), "unpacked/deep/src"));
        assertEquals("alpha\n", back.get("src/a.txt"), back.toString());
        assertEquals("-> a.txt", back.get("src/link"));
        assertTrue(back.containsKey("src/new"), back.toString());
        assertEquals("alpha\n", Tars.read(driver.openArchiveRead(box.id(), "unpacked/deep/src/a.txt")).get("a.txt"));
    }

    @Test
    void unsafeArchiveEntriesAreRefusedByName() throws Exception {
        Sandbox box = newSandbox();
        requireCapability(Capability.FILES_ARCHIVE);
        assertArchiveRefused(box, Tars.of(Tars.file("../evil", "x", 0644)), "'..'");
        assertArchiveRefused(box, Tars.of(Tars.file("/abs", "x", 0644)), "absolute");
        assertArchiveRefused(box, Tars.of(Tars.symlink("l", "/tmp"), Tars.file("l/planted", "x", 0644)), "below the symbolic link");
        assertArchiveRefused(box, Tars.of(Tars.hardlink("h", "not-in-the-archive")), "hard link");
        assertArchiveRefused(box, Tars.of(Tars.fifo("pipe")), "special files");
        ExecRun check = ExecRun.sh(driver, box.id(), "ls /tmp/planted u/l/planted 2>/dev/null; echo done");
        assertEquals("done\n", check.stdout(), "nothing below the link was extracted");
        DriverException notDir = assertThrows(DriverException.class, () -> {
            try (FileUpload up = driver.openWrite(box.id(), "plain", 0644)) {
                up.write(1);
            }
            driver.extractArchive(box.id(), "plain", Tars.of());
        });
        assertEquals(DriverException.Kind.FAILED_PRECONDITION, notDir.kind());
    }

    private void assertArchiveRefused(Sandbox box, java.io.InputStream tar, String reason) {
        DriverException e = assertThrows(DriverException.class, () -> driver.extractArchive(box.id(), "u", tar));
        assertEquals(DriverException.Kind.INVALID_ARGUMENT, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(reason) && e.getMessage().contains("archive entry"), e.getMessage());
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable call, String reason) {
        DriverException e = assertThrows(DriverException.class, call);
        assertEquals(DriverException.Kind.FAILED_PRECONDITION, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(reason), "message should say why: " + e.getMessage());
    }

    @Test
    void aVolumeIsTheSandboxsOwnAtItsPathForProcessesAndTheFileApiAndOutlivesARestart() throws Exception {
        requireCapability(Capability.VOLUMES);
        requireCapability(Capability.EXEC);
        String id = "t-" + UUID.randomUUID().toString().substring(0, 8);
        created.add(id);
        Sandbox box = driver.provision(new SandboxSpec(id, ResourceLimits.NONE, Map.of(), Map.of(), "", "",
                List.of("/mnt/memory/notes", "/opt/other")));
        assertEquals(List.of("/mnt/memory/notes", "/opt/other"), box.volumes());
        ExecRun wrote = run(id, ExecSpec.of("sh", "-c", "mkdir -p /mnt/memory/notes/g && echo from-sh > /mnt/memory/notes/g/a.md"), null);
        assertEquals(0, wrote.outcome().exitCode(), "the sandbox's user writes in its volume: " + wrote.stderr());
        try (InputStream in = driver.openRead(id, "/mnt/memory/notes/g/a.md")) {
            assertEquals("from-sh\n", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        try (OutputStream out = driver.openWrite(id, "/opt/other/b.txt", 0644)) {
            out.write("from-api".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("from-api", run(id, ExecSpec.of("cat", "/opt/other/b.txt"), null).stdout());
        assertEquals(List.of("/mnt/memory/notes/g", "/mnt/memory/notes/g/a.md"),
                driver.listFiles(id, "/mnt/memory/notes", true).stream().map(FileEntry::path).toList(), "entries are named by absolute path");
        assertEquals(FileEntry.Type.REGULAR, driver.stat(id, "/mnt/memory/notes/g/a.md").type());
        assertTrue(driver.listFiles(id, "", true).stream().noneMatch(e -> e.path().contains("a.md")), "a volume is not in the workspace");
        assertRefused(() -> driver.openRead(id, "/mnt/memory/other.md"), "absolute");
        assertRefused(() -> driver.openRead(id, "/mnt/memory/notes/../../../etc/passwd"), "..");
        assertEquals(0, run(id, ExecSpec.of("ln", "-s", "/etc", "/mnt/memory/notes/escape"), null).outcome().exitCode());
        assertRefused(() -> driver.openRead(id, "/mnt/memory/notes/escape/passwd"), "symbolic link");
        assertRefused(() -> driver.openWrite(id, "/mnt/memory/notes/escape/evil", 0644), "symbolic link");
        if (driver.capabilities().contains(Capability.SURVIVES_DAEMON_RESTART)) {
            driver.close();
            driver = createDriver(stateDir);
            driver.reconcile();
            assertEquals(List.of("/mnt/memory/notes", "/opt/other"), driver.get(id).orElseThrow().volumes(), "volumes are remembered");
            try (InputStream in = driver.openRead(id, "/opt/other/b.txt")) {
                assertEquals("from-api", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            assertEquals("from-sh\n", run(id, ExecSpec.of("cat", "/mnt/memory/notes/g/a.md"), null).stdout());
        }
    }

    @Test
    void aVolumeWhereTheSystemLivesOrOneInsideAnotherIsRefusedBeforeAnyDriverSeesIt() {
        for (List<String> bad : List.of(List.of("/usr/local/x"), List.of("/workspace/m"), List.of("/etc"), List.of("relative"),
                List.of("/mnt/a/../b"), List.of("/mnt/a", "/mnt/a/b"), List.of("/mnt/a/"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new SandboxSpec("t-x", ResourceLimits.NONE, Map.of(), Map.of(), "", "", bad), bad.toString());
            assertTrue(e.getMessage().contains("expected"), "the refusal says what was expected: " + e.getMessage());
        }
    }

    @Test
    void destroyIsIdempotentAndRemovesTheSandbox() throws Exception {
        Sandbox box = newSandbox();
        driver.destroy(box.id());
        driver.destroy(box.id());
        assertTrue(driver.get(box.id()).isEmpty());
        DriverException e = assertThrows(DriverException.class, () -> driver.start(box.id(), ExecSpec.of("true")));
        assertEquals(DriverException.Kind.NOT_FOUND, e.kind());
    }

    @Test
    void aNewDriverInstanceAdoptsLiveSandboxesOnReconcile() throws Exception {
        requireCapability(Capability.SURVIVES_DAEMON_RESTART);
        Sandbox box = newSandbox();
        try (OutputStream out = driver.openWrite(box.id(), "kept.txt", 0644)) {
            out.write('k');
        }
        driver.close();
        driver = createDriver(stateDir);
        List<Sandbox> adopted = driver.reconcile();
        assertTrue(adopted.stream().anyMatch(s -> s.id().equals(box.id())), "adopted: " + adopted);
        assertEquals("k", run(box.id(), ExecSpec.of("cat", "kept.txt"), null).stdout());
    }
}
