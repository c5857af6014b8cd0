package io.airlock.controlplane.gateway;

import io.airlock.proto.v1.DataFrame;
import io.grpc.stub.ServerCallStreamObserver;

/** The control plane's end of one Data stream, registered under the command that asks for it. */
interface DataStreamHandler {
    /** The agent opened the stream; {@code toAgent} is where frames for the agent go. */
    void opened(ServerCallStreamObserver<DataFrame> toAgent, ReadyGate gate);

    void onFrame(DataFrame frame);

    /** The stream ended; {@code error} is null on a clean end. */
    void closed(Throwable error);
}
