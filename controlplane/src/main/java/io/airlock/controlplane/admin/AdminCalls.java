package io.airlock.controlplane.admin;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;

/**
 * What the admin API and its CLI agree on beyond the messages: how long a call waits for an
 * offline agent ({@link #WAIT_HEADER}, milliseconds), and a trailer on every error the control
 * plane itself answers ({@link #ORIGIN_TRAILER}), so the CLI can tell such an answer from a
 * transport failure (refused, or a connection that broke under a call that may have run).
 */
public final class AdminCalls implements ServerInterceptor {
    public static final Metadata.Key<String> WAIT_HEADER = Metadata.Key.of("airlock-wait-ms", Metadata.ASCII_STRING_MARSHALLER);
    public static final Metadata.Key<String> ORIGIN_TRAILER = Metadata.Key.of("airlock-origin", Metadata.ASCII_STRING_MARSHALLER);
    static final Context.Key<Duration> WAIT = Context.key("airlock-wait");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String wait = headers.get(WAIT_HEADER);
        Duration d = null;
        if (wait != null) {
            try {
                d = Duration.ofMillis(Math.max(0, Long.parseLong(wait)));
            } catch (NumberFormatException e) {
                call.close(Status.INVALID_ARGUMENT.withDescription(WAIT_HEADER.name() + ": '" + wait + "' (expected: milliseconds)"),
                        originTrailers());
                return new ServerCall.Listener<>() {};
            }
        }
        return Contexts.interceptCall(Context.current().withValue(WAIT, d), call, headers, next);
    }

    /** Trailers marking an error as the control plane's own answer. */
    static Metadata originTrailers() {
        Metadata m = new Metadata();
        m.put(ORIGIN_TRAILER, "control-plane");
        return m;
    }

    /** {@code status} as the control plane's own answer. */
    static StatusRuntimeException answer(Status status) {
        return status.asRuntimeException(originTrailers());
    }
}
