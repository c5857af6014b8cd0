package io.airlock.connector.grpc;

import io.airlock.connector.grpc.identity.AgentIdentity;
import io.airlock.connector.grpc.identity.LiveCredentials;
import io.airlock.proto.v1.CertificatesGrpc;
import io.airlock.proto.v1.ServerTimeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * One mTLS call to the control plane with the daemon's own TLS setup (so {@code airlock doctor}
 * checks what the daemon will do): whether the link's TLS holds, and the server's clock.
 */
public final class ServerTimeProbe {
    /** What the call found. */
    public sealed interface Result {}

    /** Reached, TLS verified; the server's time and ours just before and after asking. */
    public record Reached(long serverMs, long beforeMs, long afterMs) implements Result {}

    /** Reached, TLS verified; this control plane does not tell its time. */
    public record NoClock() implements Result {}

    /** The call failed: {@code detail} says how; {@code tlsSetup} when the local TLS context could not be built. */
    public record Failed(String detail, boolean tlsSetup) implements Result {}

    private ServerTimeProbe() {}

    public static Result probe(String address, AgentIdentity identity, Clock clock) {
        ManagedChannel channel = null;
        try {
            channel = NettyChannelBuilder.forTarget(address).sslContext(new LiveCredentials(identity).tls()).build();
            long before = clock.millis();
            long server = CertificatesGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .serverTime(ServerTimeRequest.getDefaultInstance()).getUnixTimeMs();
            return new Reached(server, before, clock.millis());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
                return new NoClock();
            }
            Throwable cause = e.getStatus().getCause();
            return new Failed(e.getStatus().getCode() + " " + e.getStatus().getDescription() + (cause == null ? "" : " (" + cause + ")"), false);
        } catch (IOException e) {
            return new Failed(e.getMessage(), true);
        } finally {
            if (channel != null) {
                channel.shutdownNow();
            }
        }
    }
}
