package io.airlock.controlplane.gateway;

import io.airlock.proto.support.ReadyGate;
import io.airlock.proto.v1.Command;
import io.airlock.proto.v1.DataFrame;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * The control plane's end of the Data stream(s) of one command, registered under the command
 * id. An exec may get a second stream after a broken link (a re-attach).
 */
interface DataStreamHandler {
    /** The agent opened a stream; {@code toAgent} is where frames for the agent go. */
    void opened(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate);

    void onFrame(DataFrame frame);

    /** Finished: the stream ended cleanly ({@code error} null), or the command failed. */
    void closed(Throwable error);

    /** The stream broke in transport. Unless the operation can be re-attached, that finishes it. */
    default void streamBroken(Throwable error) {
        closed(error);
    }

    /** The command to send again when the agent reconnects (an exec asks to resume where it was). */
    default Command forResend(Command original) {
        return original;
    }
}
