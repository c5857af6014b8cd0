package io.airlock.connector.worker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class WorkdirTest {
    @Test
    void pathsInsideTheWorkdirMapOntoTheWorkspace() throws ToolException {
        assertEquals("a/b.txt", Workdir.relative("/workspace/a/b.txt"));
        assertEquals("a/b.txt", Workdir.relative("a/./c/../b.txt"));
        assertEquals("", Workdir.relative("/workspace"));
        assertEquals("/workspace/a", Workdir.shown("a"));
    }

    @Test
    void pathsOutsideAreRefusedNamingTheWorkdir() {
        for (String p : new String[] {"../x", "/etc/passwd", "/workspace/../etc", "/workspacex/a"}) {
            assertTrue(assertThrows(ToolException.class, () -> Workdir.relative(p)).getMessage()
                    .contains("outside the working directory /workspace"), p);
        }
        assertTrue(assertThrows(ToolException.class, () -> Workdir.relative("a\0b")).getMessage().contains("NUL"));
        assertTrue(assertThrows(ToolException.class, () -> Workdir.relative(" ")).getMessage().contains("missing"));
    }

    @Test
    void aStoreRootIsReachableByAbsolutePathAndAReadOnlyOneRefusesWrites() throws ToolException {
        Workdir w = new Workdir(List.of("/mnt/memory/notes", "/mnt/memory/guide"), List.of("/mnt/memory/guide", "/workspace/memory/ro"));
        assertEquals("/mnt/memory/notes/a.md", w.path("/mnt/memory/notes/x/../a.md"));
        assertEquals("/mnt/memory/notes", w.path("/mnt/memory/notes"));
        assertEquals("/mnt/memory/notes/a.md", Workdir.shown(w.path("/mnt/memory/notes/a.md")));
        assertEquals("/mnt/memory/guide/g.md", w.path("/mnt/memory/guide/g.md"), "a read-only store is read");
        assertTrue(assertThrows(ToolException.class, () -> w.path("/mnt/memory/notes/../secret")).getMessage()
                .contains("outside the working directory /workspace and the memory stores /mnt/memory/notes, /mnt/memory/guide"));
        assertTrue(assertThrows(ToolException.class, () -> w.path("/mnt/memory/notesx/a")).getMessage().contains("outside"));
        assertEquals("/mnt/memory/guide/g.md is inside read-only directory /mnt/memory/guide",
                assertThrows(ToolException.class, () -> w.writable("/mnt/memory/guide/g.md")).getMessage());
        assertTrue(assertThrows(ToolException.class, () -> w.writable("memory/ro/a.md")).getMessage()
                .contains("inside read-only directory /workspace/memory/ro"));
        assertEquals("/mnt/memory/notes/a.md", w.writable("/mnt/memory/notes/a.md"));
        assertEquals("memory/rw/a.md", w.writable("memory/rw/a.md"));
    }
}
