package io.airlock.connector.worker.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BoundedLinesTest {
    @Test
    void aLineOverTheBoundIsReadPastButNotKept() throws IOException {
        String text = "short\r\n" + "x".repeat(50) + "\nlast";
        try (BoundedLines lines = new BoundedLines(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), 10)) {
            assertEquals("short", lines.next());
            assertFalse(lines.tooLong());
            assertEquals("", lines.next());
            assertTrue(lines.tooLong());
            assertEquals("last", lines.next(), "the line after a long one comes whole");
            assertFalse(lines.tooLong());
            assertNull(lines.next());
        }
    }
}
