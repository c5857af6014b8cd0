package io.airlock.tunnel.mcp.upstream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BoundedLineReaderTest {
    /** Hands out at most {@code step} bytes per read, as a pipe does. */
    private static InputStream trickle(byte[] bytes, int step) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, step));
            }
        };
    }

    @Test
    void linesComeBackWholeHoweverTheInputArrivesAndTheUnterminatedRestLast() throws Exception {
        String big = "x".repeat(200_000);
        byte[] input = ("{\"id\":1}\n\n" + big + "\n{\"id\":2}").getBytes(StandardCharsets.UTF_8);
        for (int step : new int[] {1, 7, 65536, input.length}) {
            BoundedLineReader r = new BoundedLineReader(trickle(input, step), 300_000);
            assertEquals("{\"id\":1}", new String(r.readLine(), StandardCharsets.UTF_8));
            assertEquals(0, r.readLine().length);
            assertArrayEquals(big.getBytes(StandardCharsets.UTF_8), r.readLine());
            assertEquals("{\"id\":2}", new String(r.readLine(), StandardCharsets.UTF_8));
            assertNull(r.readLine());
        }
    }

    @Test
    void aLineOverTheBoundIsRefusedAndOneAtItPasses() throws Exception {
        byte[] atBound = ("y".repeat(100) + "\n").getBytes(StandardCharsets.UTF_8);
        assertEquals(100, new BoundedLineReader(trickle(atBound, 33), 100).readLine().length);
        byte[] over = ("y".repeat(101) + "\n").getBytes(StandardCharsets.UTF_8);
        assertThrows(BoundedLineReader.TooLongException.class, () -> new BoundedLineReader(trickle(over, 33), 100).readLine());
    }
}
