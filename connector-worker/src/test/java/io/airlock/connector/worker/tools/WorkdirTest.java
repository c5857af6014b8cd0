package io.airlock.connector.worker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
