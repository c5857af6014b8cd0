package io.airlock.controlplane.gateway;

import io.airlock.proto.v1.DataFrame;
import io.airlock.proto.v1.Error;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.SendSignal;
import io.airlock.proto.v1.Signal;
import io.airlock.proto.v1.TerminalSize;
import java.util.function.Consumer;

/**
 * Steers a running exec from the control plane: terminal resizes and signals go down its Data
 * stream. The agent answers a resize or signal it could not carry out with an Error frame,
 * which reaches {@code onRefused}; the exec goes on either way.
 */
public final class ExecControl {
    private final Consumer<Error> onRefused;
    private volatile Consumer<DataFrame> stream;

    public ExecControl() {
        this(e -> { });
    }

    public ExecControl(Consumer<Error> onRefused) {
        this.onRefused = onRefused;
    }

    /** Delivers {@code signal} to the process. */
    public void signal(Signal signal) {
        if (signal == Signal.SIGNAL_UNSPECIFIED || signal == Signal.UNRECOGNIZED) {
            throw new IllegalArgumentException("signal " + signal + " (expected a named signal such as SIGTERM)");
        }
        send(DataFrame.newBuilder().setSignal(SendSignal.newBuilder().setSignal(signal)).build());
    }

    /** Resizes the process's terminal (execs started with tty). */
    public void resize(int columns, int rows) {
        if (columns < 1 || columns > 4096 || rows < 1 || rows > 4096) {
            throw new IllegalArgumentException("terminal size " + columns + "x" + rows + " (expected: columns and rows 1..4096)");
        }
        send(DataFrame.newBuilder().setResize(TerminalSize.newBuilder().setColumns(columns).setRows(rows)).build());
    }

    private void send(DataFrame frame) {
        Consumer<DataFrame> s = stream;
        if (s == null) {
            throw new CommandFailedException(ErrorCode.UNAVAILABLE, "the exec has no data stream right now (not started yet, "
                    + "re-attaching after a broken link, or finished); try again");
        }
        s.accept(frame);
    }

    void bind(Consumer<DataFrame> stream) {
        this.stream = stream;
    }

    void refused(Error error) {
        onRefused.accept(error);
    }
}
