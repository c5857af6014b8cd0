package io.airlock.connector.grpc;

import io.airlock.core.work.HandOffProbe;
import io.airlock.proto.v1.AgentGatewayGrpc;
import io.airlock.proto.v1.AgentMessage;
import io.airlock.proto.v1.ControlPlaneMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Control stream over grpc-java: a fresh channel per attempt, its Data streams told when it is up and when it goes. */
final class GrpcControlTransport implements ControlTransport {
    private static final Logger log = LoggerFactory.getLogger(GrpcControlTransport.class);
    private final Supplier<ManagedChannel> channels;
    private final DataStreams data;

    GrpcControlTransport(Supplier<ManagedChannel> channels, DataStreams data) {
        this.channels = channels;
        this.data = data;
    }

    @Override
    public Stream open(Events events) {
        ManagedChannel channel = channels.get();
        var observer = new ClientResponseObserver<AgentMessage, ControlPlaneMessage>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<AgentMessage> requests) {
                requests.setOnReadyHandler(events::ready);
            }

            @Override
            public void onNext(ControlPlaneMessage message) {
                if (HandOffProbe.ENABLED && message.hasCommand()) {
                    HandOffProbe.mark(message.getCommand().getCommandId(), "wire in (gRPC callback)");
                }
                events.message(message);
            }

            @Override
            public void onError(Throwable t) {
                events.failed(describe(Status.fromThrowable(t)));
            }

            @Override
            public void onCompleted() {
                events.completed();
            }
        };
        var out = (ClientCallStreamObserver<AgentMessage>) AgentGatewayGrpc.newStub(channel).control(observer);
        return new GrpcStream(channel, out);
    }

    static String describe(Status s) {
        String cause = s.getCause() != null && s.getCause().getMessage() != null ? " (" + s.getCause().getMessage() + ")" : "";
        return s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "") + cause;
    }

    private final class GrpcStream implements Stream {
        private final ManagedChannel channel;
        private final ClientCallStreamObserver<AgentMessage> out;

        GrpcStream(ManagedChannel channel, ClientCallStreamObserver<AgentMessage> out) {
            this.channel = channel;
            this.out = out;
        }

        @Override
        public boolean isReady() {
            return out.isReady();
        }

        @Override
        public void send(AgentMessage message) {
            out.onNext(message);
        }

        @Override
        public void established() {
            data.established(channel);
        }

        @Override
        public void cancel(String reason) {
            data.lost(channel); // before the channel goes: an idle Data call would hold a graceful end
            try {
                out.cancel(reason, null);
            } catch (RuntimeException e) {
                log.debug("cancel: {}", e.toString());
            }
            channel.shutdownNow();
        }

        @Override
        public void finish() {
            data.lost(channel);
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                log.debug("completing the control stream: {}", e.toString());
            }
            channel.shutdown();
        }

        @Override
        public boolean awaitTermination(Duration max) throws InterruptedException {
            return channel.awaitTermination(max.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
