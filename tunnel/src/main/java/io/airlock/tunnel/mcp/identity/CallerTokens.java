package io.airlock.tunnel.mcp.identity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Tells a private MCP server who is calling: a short-lived JWT (RFC 7519) signed with the
 * agent's own Ed25519 key (JWS alg EdDSA, RFC 8037), whose public half the agent publishes as a
 * JWK Set, so the server can authorise per user without trusting the control plane's word.
 * Written here rather than with a JOSE library: it is one algorithm, signing only, about forty
 * lines on the JDK's own Ed25519; a library would bring parsing and algorithms we must not use.
 *
 * <p>Claims: {@code iss} "airlock:AGENT_ID", {@code aud} the server's name, {@code sub} the
 * user, {@code agent} and {@code session} as the control plane said, {@code iat}, {@code exp}
 * ({@code ttl} later) and a unique {@code jti}.
 */
public final class CallerTokens {
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    static final String KEY_FILE = "caller-key.der";
    static final String PUBLIC_KEY_FILE = "caller-key.pub.der";
    static final String JWKS_FILE = "caller-jwks.json";

    private final String issuer;
    private final PrivateKey key;
    private final String kid;
    private final String jwks;
    private final Duration ttl;
    private final Clock clock;
    /** Tokens made lately, by server and caller: signing (about 1 ms with the JDK's Ed25519) would otherwise be most of a call's cost. */
    private final Map<Issued.Key, Issued> recent = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Issued.Key, Issued> eldest) {
            return size() > MAX_REUSED;
        }
    };
    static final int MAX_REUSED = 4096;

    private record Issued(String token, long issuedAt) {
        record Key(String server, McpRequest.Caller caller) {}
    }

    private CallerTokens(String agentId, KeyPair keys, Duration ttl, Clock clock) {
        this.issuer = "airlock:" + agentId;
        this.key = keys.getPrivate();
        this.ttl = ttl;
        this.clock = clock;
        byte[] x = rawPublicKey(keys.getPublic());
        try {
            this.kid = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(x), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        ObjectNode jwk = JsonRpcMessages.JSON.createObjectNode();
        jwk.put("kty", "OKP").put("crv", "Ed25519").put("alg", "EdDSA").put("use", "sig").put("kid", kid).put("x", B64.encodeToString(x));
        ObjectNode set = JsonRpcMessages.JSON.createObjectNode();
        set.putArray("keys").add(jwk);
        this.jwks = set.toPrettyString();
    }

    /**
     * The agent's caller key from {@code dir} (made on first use, 0600), with its JWK Set written
     * next to it ({@value #JWKS_FILE}, world-readable: it is public).
     */
    public static CallerTokens loadOrCreate(Path dir, String agentId, Duration ttl) throws IOException {
        return loadOrCreate(dir, agentId, ttl, Clock.systemUTC());
    }

    static CallerTokens loadOrCreate(Path dir, String agentId, Duration ttl, Clock clock) throws IOException {
        Files.createDirectories(dir);
        Path keyFile = dir.resolve(KEY_FILE);
        KeyPair keys;
        try {
            Path publicFile = dir.resolve(PUBLIC_KEY_FILE);
            KeyFactory ed25519 = KeyFactory.getInstance("Ed25519");
            if (Files.exists(keyFile) && Files.exists(publicFile)) {
                keys = new KeyPair(ed25519.generatePublic(new X509EncodedKeySpec(Files.readAllBytes(publicFile))),
                        ed25519.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(keyFile))));
            } else {
                // The JDK's PKCS#8 form of an Ed25519 key does not carry the public key, so it has a file of its own.
                keys = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
                write(dir, publicFile, keys.getPublic().getEncoded(), "rw-r--r--");
                write(dir, keyFile, keys.getPrivate().getEncoded(), "rw-------");
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot load the caller key " + keyFile + ": " + e.getMessage(), e);
        }
        CallerTokens tokens = new CallerTokens(agentId, keys, ttl, clock);
        write(dir, dir.resolve(JWKS_FILE), tokens.jwks.getBytes(StandardCharsets.UTF_8), "rw-r--r--");
        return tokens;
    }

    private static void write(Path dir, Path file, byte[] content, String mode) throws IOException {
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
        Files.write(tmp, content);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The public key as a JWK Set (JSON), what servers verify tokens with. */
    public String jwks() {
        return jwks;
    }

    /**
     * A token for a call to {@code server} on behalf of {@code caller}: the one made for the same
     * server and caller while it has at least half its lifetime left, else a new one.
     */
    public String sign(String server, McpRequest.Caller caller) {
        long now = clock.instant().getEpochSecond();
        Issued.Key key = new Issued.Key(server, caller);
        synchronized (recent) {
            Issued earlier = recent.get(key);
            if (earlier != null && now - earlier.issuedAt() < ttl.toSeconds() / 2) {
                return earlier.token();
            }
        }
        String token = signNew(server, caller, now);
        synchronized (recent) {
            recent.put(key, new Issued(token, now));
        }
        return token;
    }

    private String signNew(String server, McpRequest.Caller caller, long now) {
        ObjectNode header = JsonRpcMessages.JSON.createObjectNode().put("alg", "EdDSA").put("typ", "JWT").put("kid", kid);
        ObjectNode claims = JsonRpcMessages.JSON.createObjectNode().put("iss", issuer).put("aud", server).put("sub", caller.user())
                .put("agent", caller.agent()).put("session", caller.session()).put("iat", now).put("exp", now + ttl.toSeconds())
                .put("jti", UUID.randomUUID().toString());
        try {
            String input = B64.encodeToString(JsonRpcMessages.JSON.writeValueAsBytes(header)) + "."
                    + B64.encodeToString(JsonRpcMessages.JSON.writeValueAsBytes(claims));
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(key);
            s.update(input.getBytes(StandardCharsets.US_ASCII));
            return input + "." + B64.encodeToString(s.sign());
        } catch (JsonProcessingException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a caller token", e);
        }
    }

    /** The 32-byte key an Ed25519 X.509 SubjectPublicKeyInfo ends with. */
    private static byte[] rawPublicKey(PublicKey key) {
        byte[] encoded = key.getEncoded();
        return Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
    }
}
