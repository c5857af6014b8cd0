package io.airlock.controlplane.admin;

import io.airlock.controlplane.ca.CertificateAuthority;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The admin API's bearer token: made on first start, kept in {@code admin.token} (0600) in the
 * control plane's state directory, read by the CLI. Compared in constant time.
 */
public final class AdminToken implements ServerInterceptor {
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private final byte[] expected;

    private AdminToken(String token) {
        this.expected = ("Bearer " + token).getBytes(StandardCharsets.US_ASCII);
    }

    public static Path file(Path stateDir) {
        return stateDir.resolve("admin.token");
    }

    public static AdminToken loadOrCreate(Path stateDir) throws IOException {
        Path f = file(stateDir);
        if (!Files.exists(f)) {
            byte[] b = new byte[32];
            new SecureRandom().nextBytes(b);
            CertificateAuthority.writePrivate(f, Base64.getUrlEncoder().withoutPadding().encodeToString(b));
        }
        return new AdminToken(Files.readString(f).strip());
    }

    public static String read(Path stateDir) throws IOException {
        return Files.readString(file(stateDir)).strip();
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String got = headers.get(AUTHORIZATION);
        if (got == null || !MessageDigest.isEqual(expected, got.getBytes(StandardCharsets.US_ASCII))) {
            call.close(Status.UNAUTHENTICATED.withDescription("admin API needs the token from admin.token in the control plane's state directory"),
                    new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
    }
}
