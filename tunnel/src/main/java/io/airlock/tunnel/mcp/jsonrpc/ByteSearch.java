package io.airlock.tunnel.mcp.jsonrpc;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Finds the next of a few byte values eight bytes at a time (SWAR: a byte equal to the one
 * sought becomes zero under XOR, and a zero byte is found with one subtraction and two masks).
 * The tunnel steps over every byte of every response to find line ends and JSON string ends;
 * a loop comparing byte by byte was the daemon's largest cost on large responses, and the JIT
 * does not vectorise a search that stops early. Hand-written: the JDK's vector API is still
 * incubating, and no library we use offers a multi-byte search over a byte[] range.
 */
public final class ByteSearch {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;

    private ByteSearch() {}

    /** The high bit of each byte of {@code word} that equals the byte of {@code pattern} (only the lowest one is exact). */
    private static long equal(long word, long pattern) {
        long x = word ^ pattern;
        return (x - ONES) & ~x & HIGHS;
    }

    private static long spread(byte b) {
        return (b & 0xFFL) * ONES;
    }

    /** The index of the first {@code a} in {@code bytes[from, to)}, or {@code to}. */
    public static int indexOf(byte[] bytes, int from, int to, byte a) {
        long pa = spread(a);
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long hit = equal((long) LONGS.get(bytes, i), pa);
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (bytes[i] == a) {
                return i;
            }
        }
        return to;
    }

    /** The index of the first {@code a} or {@code b} in {@code bytes[from, to)}, or {@code to}. */
    public static int indexOfAny(byte[] bytes, int from, int to, byte a, byte b) {
        long pa = spread(a);
        long pb = spread(b);
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long w = (long) LONGS.get(bytes, i);
            long hit = equal(w, pa) | equal(w, pb);
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (bytes[i] == a || bytes[i] == b) {
                return i;
            }
        }
        return to;
    }

    /** The index of the first of {@code a}, {@code b}, {@code c} or {@code d} in {@code bytes[from, to)}, or {@code to}. */
    public static int indexOfAny(byte[] bytes, int from, int to, byte a, byte b, byte c, byte d) {
        long pa = spread(a);
        long pb = spread(b);
        long pc = spread(c);
        long pd = spread(d);
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long w = (long) LONGS.get(bytes, i);
            long hit = equal(w, pa) | equal(w, pb) | equal(w, pc) | equal(w, pd);
            if (hit != 0) {
                return i + (Long.numberOfTrailingZeros(hit) >>> 3);
            }
        }
        for (; i < to; i++) {
            byte x = bytes[i];
            if (x == a || x == b || x == c || x == d) {
                return i;
            }
        }
        return to;
    }
}
