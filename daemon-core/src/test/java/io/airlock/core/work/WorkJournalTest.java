package io.airlock.core.work;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The work journal across a restart: first results come back, work cut short is unknown, never run again. */
class WorkJournalTest {
    @TempDir
    Path dir;

    private static WorkItem exec(String id) {
        return new WorkItem(id, 0, new Work.Exec("b", List.of("true"), Map.of(), "", 0, 0, false, 0, false, 0, 0));
    }

    private static Outcome.Failed failed(Outcome outcome) {
        return assertInstanceOf(Outcome.Failed.class, outcome);
    }

    @Test
    void aFinishedResultAndAnUnfinishedOnesUnknownOutcomeSurviveARestart() throws Exception {
        Path file = dir.resolve("commands.journal");
        String odd = "id with spaces\nand a newline";
        Outcome first = new Outcome.ExecDone(3, false, false, 10, 2, 40);
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            j.started(exec("done"));
            j.finished(exec("done"), first);
            j.started(exec(odd));
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Files.writeString(file, "R 17", StandardOpenOption.APPEND); // a torn last line
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            assertEquals(first, j.recovered().get("done"));
            assertEquals(WorkError.OUTCOME_UNKNOWN, failed(j.recovered().get(odd)).error());
            assertEquals(2, j.recovered().size());
        }
    }

    /** Every kind of outcome with effects comes back as it was written (the journal keeps them as JSON). */
    @Test
    void everyOutcomeComesBackEqual() throws Exception {
        Path file = dir.resolve("commands.journal");
        Outcome.SandboxView sandbox = new Outcome.SandboxView("b", "docker", "READY", 1700000000000L, Map.of("team", "a"),
                List.of(new Work.RuleSpec("pypi.org", "", List.of(443)), new Work.RuleSpec("", "10.0.0.0/8", List.of())));
        List<Outcome> outcomes = List.of(new Outcome.SandboxDone(sandbox), new Outcome.Destroyed(),
                new Outcome.FileDone("a.txt", 5, "ab".repeat(32), 0), new Outcome.FileDone("dir", 9, "cd".repeat(32), 3),
                new Outcome.SnapshotDone(new Outcome.SnapshotView("s1", "b", 1700000000001L, 1234, "bubblewrap")),
                new Outcome.SnapshotDeleted(), new Outcome.Failed(WorkError.POLICY_DENIED, "no"));
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            for (int i = 0; i < outcomes.size(); i++) {
                j.started(exec("w" + i));
                j.finished(exec("w" + i), outcomes.get(i));
            }
        }
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            for (int i = 0; i < outcomes.size(); i++) {
                assertEquals(outcomes.get(i), j.recovered().get("w" + i));
            }
        }
    }

    /** A provision cut short converges when repeated (its sandbox id is its key): it is forgotten, so the repeat finishes it. */
    @Test
    void unfinishedWorkThatConvergesByItsKeyIsForgotten() throws Exception {
        Path file = dir.resolve("commands.journal");
        WorkItem provision = new WorkItem("p", 0, new Work.Provision("b", "", "", "", "", Work.Limits.NONE, Map.of(), Map.of(),
                List.of(), null));
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            j.started(provision);
        }
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            assertTrue(j.recovered().isEmpty(), j.recovered().toString());
        }
    }

    /** An earlier build's result line (airlock.v1 bytes) is not read back as a result: the exec it ended stays unknown. */
    @Test
    void anEarlierBuildsResultLineLeavesItsWorkUnknown() throws Exception {
        Path file = dir.resolve("commands.journal");
        long now = System.currentTimeMillis();
        Files.writeString(file, "S " + now + " ZQ EXEC\nF " + now + " ZQ CgFlMgIIAw==\n", StandardCharsets.US_ASCII);
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            assertEquals(WorkError.OUTCOME_UNKNOWN, failed(j.recovered().get("e")).error());
        }
    }

    @Test
    void entriesOlderThanTheRetentionAreDroppedAndReadOnlyWorkIsNotJournalled() throws Exception {
        Path file = dir.resolve("commands.journal");
        Files.writeString(file, "S 1000 b2xk EXEC\nR 1000 b2xk -OK\n", StandardCharsets.US_ASCII);
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            assertTrue(j.recovered().isEmpty(), "1970 is past the retention");
        }
        assertEquals("", Files.readString(file), "and the rewrite dropped them");
        assertFalse(WorkJournal.hasEffects(new Work.ListSandboxes()));
        assertTrue(WorkJournal.hasEffects(exec("e").work()));
    }

    @Test
    void aResultTooLargeToKeepComesBackAsItsOutcomeOnly() throws Exception {
        Path file = dir.resolve("commands.journal");
        Outcome large = new Outcome.Failed(WorkError.INTERNAL, "x".repeat(20_000));
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            j.started(exec("big"));
            j.finished(exec("big"), large);
        }
        try (WorkJournal j = WorkJournal.open(file, Duration.ofHours(1))) {
            Outcome.Failed r = failed(j.recovered().get("big"));
            assertEquals(WorkError.OUTCOME_UNKNOWN, r.error());
            assertTrue(r.message().contains("ended INTERNAL before the agent restarted"), r.message());
        }
    }
}
