package io.airlock.tunnel.mcp.jsonrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ByteSearchTest {
    static int naive(byte[] a, int from, int to, byte... sought) {
        for (int i = from; i < to; i++) {
            for (byte s : sought) {
                if (a[i] == s) {
                    return i;
                }
            }
        }
        return to;
    }

    @Test
    void findsTheFirstOfTheBytesSoughtAsAPlainLoopWouldEverywhereInTheRange() {
        Random r = new Random(42);
        byte[] alphabet = {'x', '"', '\\', '\n', '\r', (byte) 0x80, (byte) 0xE2, (byte) 0xFF, 0, 1, 0x21, 0x23, 0x5B, 0x5D};
        for (int round = 0; round < 20_000; round++) {
            byte[] a = new byte[r.nextInt(40)];
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt(4) == 0 ? alphabet[r.nextInt(alphabet.length)] : (byte) 'x';
            }
            int from = a.length == 0 ? 0 : r.nextInt(a.length + 1);
            int to = from + r.nextInt(a.length - from + 1);
            assertEquals(naive(a, from, to, (byte) '\n'), ByteSearch.indexOf(a, from, to, (byte) '\n'));
            assertEquals(naive(a, from, to, (byte) '\n', (byte) '\r'), ByteSearch.indexOfAny(a, from, to, (byte) '\n', (byte) '\r'));
            assertEquals(naive(a, from, to, (byte) '"', (byte) '\\', (byte) '\n', (byte) '\r'),
                    ByteSearch.indexOfAny(a, from, to, (byte) '"', (byte) '\\', (byte) '\n', (byte) '\r'));
            assertEquals(naive(a, from, to, (byte) 0x80), ByteSearch.indexOf(a, from, to, (byte) 0x80));
        }
    }
}
