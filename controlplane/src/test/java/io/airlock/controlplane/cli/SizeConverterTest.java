package io.airlock.controlplane.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Issue 17.11: cp create --memory takes the size syntax the configuration documents. */
class SizeConverterTest {
    private final SizeConverter sizes = new SizeConverter();

    @Test
    void takesTheDocumentedUnits() {
        assertEquals(512L << 20, sizes.convert("512MiB"));
        assertEquals(2_000_000_000L, sizes.convert("2GB"));
        assertEquals(1048576L, sizes.convert("1048576"));
        assertEquals(64L << 10, sizes.convert("64 kib"));
        assertEquals(0L, sizes.convert("0"));
    }

    @Test
    void refusesWhatIsNotASizeSayingWhatIs() {
        var e = assertThrows(CommandLine.TypeConversionException.class, () -> sizes.convert("lots"));
        assertTrue(e.getMessage().contains("'lots' is not a size (expected: a number with an optional unit"), e.getMessage());
        assertThrows(CommandLine.TypeConversionException.class, () -> sizes.convert("99999999999TiB"));
    }

    @Test
    void createsOptionUsesIt() {
        CommandLine cli = ControlPlaneCommand.commandLine();
        var parsed = cli.parseArgs("create", "box", "--memory", "512MiB", "--workspace-size", "1GiB");
        var create = (SandboxCommands.Create) parsed.subcommand().commandSpec().userObject();
        assertEquals(512L << 20, create.memory);
        assertEquals(1L << 30, create.workspace);
    }
}
