package io.airlock.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.ListFiles;
import io.airlock.proto.v1.ProvisionSandbox;
import io.airlock.proto.v1.WriteArchive;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 17.12: a tar over policy.max_file_bytes, or with a refused entry, is refused naming why, and leaves nothing in the workspace. */
class ArchiveLimitIT {
    static final Duration T = Duration.ofSeconds(60);
    @TempDir
    Path dir;
    AgentFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) {
            fx.close();
        }
    }

    private static byte[] tar(String... namesThenSizes) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            for (int i = 0; i < namesThenSizes.length; i += 2) {
                TarArchiveEntry e = new TarArchiveEntry(namesThenSizes[i]);
                int size = Integer.parseInt(namesThenSizes[i + 1]);
                e.setSize(size);
                tar.putArchiveEntry(e);
                tar.write(new byte[size]);
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    private String workspace() {
        return fx.cp.agents().listFiles(fx.agentId, ListFiles.newBuilder().setSandboxId("arch").setPath("").setRecursive(true).build(), T)
                .getEntriesList().stream().map(e -> e.getPath()).sorted().toList().toString();
    }

    @Test
    void aTarOverTheLimitOrWithARefusedEntryLeavesNothing() throws Exception {
        fx = new AgentFixture(dir);
        fx.extraConfig = "policy: {max_file_bytes: 64KiB}\n";
        fx.enrollAndStart();
        fx.cp.agents().provision(fx.agentId, ProvisionSandbox.newBuilder().setSandboxId("arch").build(), T);
        String before = workspace();

        byte[] large = tar("a.txt", "1000", "b.bin", "200000");
        CommandFailedException over = assertThrows(CommandFailedException.class, () -> fx.cp.agents().writeArchive(fx.agentId,
                WriteArchive.newBuilder().setSandboxId("arch").setPath("dest").build(), new ByteArrayInputStream(large), T));
        assertEquals(ErrorCode.RESOURCE_EXHAUSTED, over.error().getCode(), over.getMessage());
        assertTrue(over.getMessage().contains("exceeds policy.max_file_bytes (65536 bytes)") && !over.getMessage().contains("Truncated"),
                over.getMessage());
        assertEquals(before, workspace(), "nothing was extracted, not even the directory");

        byte[] escaping = tar("fine.txt", "10", "../escape.txt", "10");
        CommandFailedException refused = assertThrows(CommandFailedException.class, () -> fx.cp.agents().writeArchive(fx.agentId,
                WriteArchive.newBuilder().setSandboxId("arch").setPath("dest").build(), new ByteArrayInputStream(escaping), T));
        assertTrue(refused.getMessage().contains(".."), refused.getMessage());
        assertEquals(before, workspace(), "a refused entry leaves nothing either, not even the entries before it");

        fx.cp.agents().writeArchive(fx.agentId, WriteArchive.newBuilder().setSandboxId("arch").setPath("dest").build(),
                new ByteArrayInputStream(tar("ok.txt", "10")), T);
        assertTrue(workspace().contains("dest/ok.txt"), workspace());
    }
}
