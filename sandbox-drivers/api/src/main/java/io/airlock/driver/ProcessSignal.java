package io.airlock.driver;

/**
 * The signals callers may send to an exec. A closed set: arbitrary numbers would mean
 * different things on different kernels and architectures.
 */
public enum ProcessSignal {
    HUP(1), INT(2), QUIT(3), KILL(9), USR1(10), USR2(12), TERM(15), CONT(18), STOP(19), WINCH(28);

    private final int number;

    ProcessSignal(int number) {
        this.number = number;
    }

    /** The Linux signal number. */
    public int number() {
        return number;
    }
}
