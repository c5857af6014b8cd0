package io.airlock.daemon.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.CommandResult;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ExecResult;
import io.airlock.proto.v1.ListSandboxes;
import io.airlock.proto.v1.StartExec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command journal across a restart: first results come back, a command cut short is unknown, never run again. */
class CommandJournalTest {
    @TempDir
    Path dir;

    private static Command exec(String id) {
        return Command.newBuilder().setCommandId(id).setExec(StartExec.newBuilder().setSandboxId("b").addArgv("true")).build();
    }

    @Test
    void aFinishedCommandsResultAndAnUnfinishedOnesUnknownOutcomeSurviveARestart() throws Exception {
        Path file = dir.resolve("commands.journal");
        String odd = "id with spaces\nand a newline";
        CommandResult first = CommandResult.newBuilder().setCommandId("done").setExec(ExecResult.newBuilder().setExitCode(3)).build();
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            j.started(exec("done"));
            j.finished(exec("done"), first);
            j.started(exec(odd));
        }
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Files.writeString(file, "F 17", StandardOpenOption.APPEND); // a torn last line
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            assertEquals(first, j.recovered().get("done"));
            CommandResult unknown = j.recovered().get(odd);
            assertEquals(ErrorCode.OUTCOME_UNKNOWN, unknown.getError().getCode());
            assertEquals(odd, unknown.getCommandId());
            assertEquals(2, j.recovered().size());
        }
    }

    /** A provision cut short converges when repeated (its sandbox id is its key): it is forgotten, so the repeat finishes it. */
    @Test
    void anUnfinishedCommandThatConvergesByItsKeyIsForgotten() throws Exception {
        Path file = dir.resolve("commands.journal");
        Command provision = Command.newBuilder().setCommandId("p")
                .setProvision(io.airlock.proto.v1.ProvisionSandbox.newBuilder().setSandboxId("b")).build();
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            j.started(provision);
        }
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            assertTrue(j.recovered().isEmpty(), j.recovered().toString());
        }
    }

    @Test
    void entriesOlderThanTheRetentionAreDroppedAndReadOnlyCommandsAreNotJournalled() throws Exception {
        Path file = dir.resolve("commands.journal");
        Files.writeString(file, "S 1000 b2xk\nF 1000 b2xk -OK\n", StandardCharsets.US_ASCII);
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            assertTrue(j.recovered().isEmpty(), "1970 is past the retention");
        }
        assertEquals("", Files.readString(file), "and the rewrite dropped them");
        assertFalse(CommandJournal.hasEffects(Command.newBuilder().setCommandId("l").setList(ListSandboxes.getDefaultInstance()).build()));
        assertTrue(CommandJournal.hasEffects(exec("e")));
    }

    @Test
    void aResultTooLargeToKeepComesBackAsItsOutcomeOnly() throws Exception {
        Path file = dir.resolve("commands.journal");
        CommandResult large = CommandResult.newBuilder().setCommandId("big")
                .setError(io.airlock.proto.v1.Error.newBuilder().setCode(ErrorCode.INTERNAL).setMessage("x".repeat(20_000))).build();
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            j.started(exec("big"));
            j.finished(exec("big"), large);
        }
        try (CommandJournal j = CommandJournal.open(file, Duration.ofHours(1))) {
            CommandResult r = j.recovered().get("big");
            assertEquals(ErrorCode.OUTCOME_UNKNOWN, r.getError().getCode());
            assertTrue(r.getError().getMessage().contains("ended INTERNAL before the agent restarted"), r.getError().getMessage());
        }
    }
}
