package io.airlock.driver;

/** A terminal's size in character cells. */
public record TerminalSize(int columns, int rows) {
    public static final TerminalSize DEFAULT = new TerminalSize(80, 24);
    private static final int MAX = 4096;

    public TerminalSize {
        if (columns < 1 || columns > MAX || rows < 1 || rows > MAX) {
            throw new IllegalArgumentException("terminal size " + columns + "x" + rows + " (expected: columns and rows 1.." + MAX + ")");
        }
    }
}
