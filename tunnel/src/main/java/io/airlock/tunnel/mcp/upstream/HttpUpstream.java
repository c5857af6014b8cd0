package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.mcp.Exchange;
import io.airlock.tunnel.mcp.McpPolicy;
import io.airlock.tunnel.mcp.McpRequest;
import io.airlock.tunnel.mcp.McpServerSpec;
import io.airlock.tunnel.mcp.SecretFile;
import io.airlock.tunnel.mcp.identity.CallerTokens;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private MCP server reached over Streamable HTTP, with the JDK's HTTP client (HTTP/1.1, one
 * per server, its TLS context holding the server's CA and our client certificate). Each
 * exchange is one upstream request whose response is read ahead ({@link BodyQueue}) and relayed
 * piece by piece as it arrives, never held whole. The agent adds the configured credential
 * headers and the signed caller token; of the caller's headers only those
 * {@link McpRequest#forwarded} names pass (a credential the agent injects wins over the caller's
 * header of the same name). A 401's challenge and the server's OAuth metadata are moved to the
 * caller's public URL ({@link ProtectedResource}).
 */
public final class HttpUpstream implements Upstream {
    private static final Logger log = LoggerFactory.getLogger(HttpUpstream.class);
    /** At most this much is taken from the client's reads at a time: what it read while the last was being sent. */
    private static final int CHUNK = 64 * 1024;
    /** Response headers a caller needs; hop-by-hop and framing headers are the relay's own. */
    private static final List<String> RELAYED = List.of("content-type", "mcp-session-id", "cache-control", "retry-after", "www-authenticate");
    /** Largest protected-resource metadata document read. */
    private static final int MAX_METADATA = 64 * 1024;

    private final McpServerSpec spec;
    private final McpServerSpec.Http http;
    private final UpstreamAddresses addresses;
    private final CallerTokens tokens;
    private final String identityHeader;
    /** Replaced when the control link is cut, so that its pooled connections close too. */
    private volatile HttpClient client;
    private final SessionTable sessions;
    private final ScheduledExecutorService timers;
    /** Response bodies being read, closed to abort them when the control link is cut. */
    private final Set<BodyQueue> open = ConcurrentHashMap.newKeySet();
    /** The metadata URL the server's last 401 named (RFC 9728), where a metadata request looks first. */
    private volatile String announcedMetadata;

    public HttpUpstream(McpServerSpec spec, UpstreamAddresses addresses, CallerTokens tokens, String identityHeader, ScheduledExecutorService timers) {
        this.spec = spec;
        this.http = spec.http();
        this.addresses = addresses;
        this.tokens = tokens;
        this.identityHeader = identityHeader;
        this.timers = timers;
        this.sessions = new SessionTable(spec.limits().maxSessions(), spec.limits().idleTimeout());
        this.client = newClient();
    }

    private HttpClient newClient() {
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(Executors.newVirtualThreadPerTaskExecutor());
        if (http.tls() != null) {
            b.sslContext(http.tls());
        }
        return b.build();
    }

    @Override
    public int sessions() {
        return sessions.size();
    }

    @Override
    public void exchange(Exchange ex) throws IOException, InterruptedException {
        McpRequest request = ex.request();
        if (request.resourceMetadata()) {
            metadata(ex);
            return;
        }
        String session = request.sessionId();
        boolean reserved = false;
        if (session == null && ex.initializes()) {
            if (!sessions.reserve()) {
                ex.refuseSessionLimit(spec);
                return;
            }
            reserved = true;
        } else if (session != null && !request.method().equals("DELETE") && !sessions.touch(session)) {
            ex.refuse(404, McpErrors.SESSION_NOT_FOUND, "MCP session " + session + " of server '" + spec.name()
                    + "' is not open on this agent, and max_sessions (" + spec.limits().maxSessions() + ") are; start a new session");
            return;
        }
        if (!addressAllowed(ex)) {
            if (reserved) {
                sessions.started(null);
            }
            return;
        }
        HttpResponse<BodyQueue> response;
        try {
            response = client.send(upstreamRequest(ex), info -> new BodyQueue());
        } catch (IOException e) {
            if (reserved) {
                sessions.started(null);
            }
            boolean timeout = e instanceof HttpTimeoutException;
            ex.upstreamFailed(timeout ? 504 : 502, timeout ? McpErrors.UPSTREAM_TIMEOUT : McpErrors.UPSTREAM_UNAVAILABLE,
                    describe(e), e);
            return;
        }
        String started = response.headers().firstValue("mcp-session-id").orElse(null);
        if (reserved) {
            sessions.started(response.statusCode() < 300 ? started : null);
        }
        if (session != null && (request.method().equals("DELETE") || response.statusCode() == 404)) {
            sessions.remove(session);
        }
        relay(ex, response);
    }

    private HttpRequest upstreamRequest(Exchange ex) throws IOException {
        McpRequest request = ex.request();
        HttpRequest.Builder b = HttpRequest.newBuilder(http.url());
        if (request.method().equals("POST")) {
            b.timeout(spec.limits().requestTimeout());
        }
        Set<String> injected = new HashSet<>();
        for (Map.Entry<String, SecretFile> h : http.secretHeaders().entrySet()) {
            b.header(h.getKey(), h.getValue().value());
            injected.add(h.getKey().toLowerCase(Locale.ROOT));
        }
        for (Map.Entry<String, String> h : request.headers().entrySet()) {
            if (McpRequest.forwarded(h.getKey()) && !injected.contains(h.getKey())) {
                b.header(h.getKey(), h.getValue());
            }
        }
        ex.authorization(injected.contains("authorization") ? "agent" : request.header("authorization") != null ? "caller" : "none");
        if (tokens != null) {
            b.header(identityHeader, tokens.sign(spec.name(), request.caller()));
        }
        return switch (request.method()) {
            case "POST" -> b.POST(HttpRequest.BodyPublishers.ofByteArray(request.body())).build();
            case "GET" -> b.GET().build();
            case "DELETE" -> b.DELETE().build();
            default -> throw new IllegalArgumentException("method " + request.method());
        };
    }

    /** Relays status, headers and body as they arrive; a POST past its request_timeout is cut and answered with an error. */
    private void relay(Exchange ex, HttpResponse<BodyQueue> response) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : RELAYED) {
            response.headers().firstValue(name).ifPresent(v -> headers.put(name, v));
        }
        String challenge = headers.get("www-authenticate");
        if (challenge != null) {
            ProtectedResource.announced(challenge).ifPresent(u -> announcedMetadata = u);
            if (ex.request().publicUrl() != null) {
                headers.put("www-authenticate", ProtectedResource.rewriteChallenge(challenge,
                        ProtectedResource.metadataUrl(URI.create(ex.request().publicUrl()))));
            }
        }
        long declared = response.headers().firstValueAsLong("content-length").orElse(-1);
        BodyQueue body = response.body();
        open.add(body);
        ex.onCancel(body::close);
        ScheduledFuture<?> deadline = null;
        boolean[] timedOut = {false};
        boolean complete = false;
        try {
            if (declared > spec.limits().maxResponseBytes()) {
                ex.upstreamFailed(502, McpErrors.LIMIT, "the response of MCP server '" + spec.name() + "' (" + declared
                        + " bytes) exceeds mcp.servers." + spec.name() + ".max_response_bytes (" + spec.limits().maxResponseBytes() + " bytes)", null);
                return;
            }
            if (ex.request().method().equals("POST")) {
                deadline = timers.schedule(() -> {
                    timedOut[0] = true;
                    body.close();
                }, spec.limits().requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
            }
            ex.head(response.statusCode(), headers);
            while (true) {
                List<ByteBuffer> reads;
                try {
                    if (!body.ready()) {
                        ex.flush(); // nothing more at hand: what the sink holds goes now, not after the wait
                    }
                    reads = body.take(CHUNK);
                } catch (IOException e) {
                    if (timedOut[0]) {
                        ex.upstreamFailed(504, McpErrors.UPSTREAM_TIMEOUT, "MCP server '" + spec.name() + "' did not finish its answer within "
                                + "mcp.servers." + spec.name() + ".request_timeout (" + spec.limits().requestTimeout().toSeconds() + " s)", e);
                    } else {
                        ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name() + "' failed mid-response ("
                                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()) + ")", e);
                    }
                    return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while relaying the response of MCP server '" + spec.name() + "'");
                }
                if (reads == null) {
                    complete = true;
                    break;
                }
                for (ByteBuffer b : reads) {
                    if (b.hasRemaining()) {
                        ex.body(b); // the client never uses a buffer again once handed over: it goes into the frame as it is
                    }
                }
            }
            ex.end();
        } catch (Exchange.LimitException e) {
            ex.upstreamFailed(502, McpErrors.LIMIT, e.getMessage(), e);
        } finally {
            open.remove(body);
            if (!complete) {
                body.close(); // the rest is not wanted: the client drops the connection instead of pooling it
            }
            if (deadline != null) {
                deadline.cancel(false);
            }
        }
    }

    /**
     * Answers with the server's protected-resource metadata, {@code resource} moved to the
     * caller's public URL: looked for where the server's last challenge said, then where RFC 9728
     * puts it; 404 when the server has none.
     */
    private void metadata(Exchange ex) throws IOException, InterruptedException {
        if (!addressAllowed(ex)) {
            return;
        }
        List<URI> candidates = ProtectedResource.candidates(http.url(), announcedMetadata);
        for (URI candidate : candidates) {
            HttpRequest.Builder b = HttpRequest.newBuilder(candidate).timeout(spec.limits().requestTimeout())
                    .header("accept", "application/json").GET();
            HttpResponse<InputStream> r;
            try {
                r = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                boolean timeout = e instanceof HttpTimeoutException;
                ex.upstreamFailed(timeout ? 504 : 502, timeout ? McpErrors.UPSTREAM_TIMEOUT : McpErrors.UPSTREAM_UNAVAILABLE, describe(e), e);
                return;
            }
            byte[] body;
            try {
                body = readWithinTimeout(r.body(), MAX_METADATA + 1);
            } catch (IOException e) {
                ex.upstreamFailed(504, McpErrors.UPSTREAM_TIMEOUT, "MCP server '" + spec.name() + "' did not finish its protected-resource "
                        + "metadata at " + candidate + " within mcp.servers." + spec.name() + ".request_timeout ("
                        + spec.limits().requestTimeout().toSeconds() + " s)", null);
                return;
            }
            if (r.statusCode() != 200) {
                continue;
            }
            if (body.length > MAX_METADATA) {
                ex.upstreamFailed(502, McpErrors.LIMIT, "the protected-resource metadata of MCP server '" + spec.name() + "' at " + candidate
                        + " exceeds " + MAX_METADATA + " bytes", null);
                return;
            }
            byte[] out;
            try {
                out = ex.request().publicUrl() == null ? body : ProtectedResource.rewriteMetadata(body, ex.request().publicUrl());
            } catch (IOException e) {
                ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name() + "' at " + candidate + ": "
                        + e.getMessage() + "; expected RFC 9728 metadata", null);
                return;
            }
            ex.head(200, Map.of("content-type", "application/json", "cache-control", "no-store"));
            ex.body(out, 0, out.length);
            ex.end();
            return;
        }
        ex.refuse(404, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name() + "' publishes no OAuth protected-resource metadata (RFC 9728) at "
                + String.join(" or ", candidates.stream().map(URI::toString).toList()));
    }

    /**
     * Whether the server's address lies within mcp.allowed_networks; if not, the exchange is
     * answered (denied by that rule, or failed when the name does not resolve).
     */
    private boolean addressAllowed(Exchange ex) throws IOException {
        try {
            addresses.check(spec.name(), http.url().getHost());
            return true;
        } catch (UpstreamAddresses.RefusedException e) {
            // The operator's network limit, like a tool denial: refused by the agent's policy, and audited as denied.
            ex.denied(new McpPolicy.Denial("mcp.allowed_networks", e.getMessage()));
        } catch (UnknownHostException e) {
            ex.upstreamFailed(502, McpErrors.UPSTREAM_UNAVAILABLE, e.getMessage(), null);
        }
        return false;
    }

    /**
     * Up to {@code max} bytes of a body, cut at request_timeout: the client's own timeout covers
     * the head only, and a server that stalls in the body must not hold the exchange.
     */
    private byte[] readWithinTimeout(InputStream in, int max) throws IOException {
        ScheduledFuture<?> cut = timers.schedule(() -> {
            try {
                in.close();
            } catch (IOException e) {
                // closing is all there is to do
            }
        }, spec.limits().requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        try (in) {
            return in.readNBytes(max);
        } finally {
            cut.cancel(false);
        }
    }

    private String describe(IOException e) {
        if (e instanceof ConnectException) {
            return "MCP server '" + spec.name() + "' is unreachable at " + http.url() + " (connection refused)";
        }
        if (e instanceof HttpTimeoutException) {
            return "MCP server '" + spec.name() + "' did not answer within mcp.servers." + spec.name() + ".request_timeout ("
                    + spec.limits().requestTimeout().toSeconds() + " s)";
        }
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String n = "mcp.servers." + spec.name();
        if (e instanceof SSLException || e.getCause() instanceof SSLException) {
            return "MCP server '" + spec.name() + "' at " + http.url() + ": TLS handshake failed (" + why + "); check " + n + ".ca_file, "
                    + n + ".client_cert_file and " + n + ".client_key_file";
        }
        if ("https".equalsIgnoreCase(http.url().getScheme())) {
            // In TLS 1.3 the server judges the client certificate after the client's handshake is done: its refusal
            // (an alert, then close) can reach the client as a plain end of the connection, the alert lost to the reset.
            return "MCP server '" + spec.name() + "' at " + http.url() + " closed the connection without answering (" + why
                    + "); a TLS server does this when it requires a client certificate and got none it accepts: check "
                    + n + ".client_cert_file and " + n + ".client_key_file";
        }
        return "MCP server '" + spec.name() + "' at " + http.url() + " failed: " + why;
    }

    @Override
    public void expireIdle() {
        for (String id : sessions.expire()) {
            log.info("MCP server {}: session {} idle past {}; ending it", spec.name(), id, spec.limits().idleTimeout());
            endUpstreamSession(client, id);
        }
    }

    @Override
    public void closeAll(String reason) {
        open.forEach(BodyQueue::close);
        List<String> ended = sessions.clear();
        if (!ended.isEmpty()) {
            log.info("MCP server {}: ending {} session(s): {}", spec.name(), ended.size(), reason);
        }
        // A fresh client: the old one's pooled connections close with it. The DELETEs go on a client of
        // their own, shut down once they are answered, so that no connection outlives the link.
        HttpClient old = client;
        client = newClient();
        old.shutdownNow();
        if (!ended.isEmpty()) {
            HttpClient farewell = newClient();
            CompletableFuture.allOf(ended.stream().map(id -> endUpstreamSession(farewell, id))
                    .toArray(CompletableFuture[]::new)).whenComplete((v, t) -> farewell.shutdownNow());
        }
    }

    /** Tells the server a session is over (DELETE, best effort, in the background), so it frees what it holds. */
    private CompletableFuture<?> endUpstreamSession(HttpClient via, String id) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(http.url()).timeout(Duration.ofSeconds(5)).header("mcp-session-id", id).DELETE();
            for (Map.Entry<String, SecretFile> h : http.secretHeaders().entrySet()) {
                b.header(h.getKey(), h.getValue().value());
            }
            return via.sendAsync(b.build(), HttpResponse.BodyHandlers.discarding())
                    .whenComplete((r, t) -> log.debug("MCP server {}: DELETE of session {}: {}", spec.name(), id, t == null ? r.statusCode() : t.toString()));
        } catch (IOException | RuntimeException e) {
            log.debug("MCP server {}: cannot end session {}: {}", spec.name(), id, e.toString());
            return CompletableFuture.completedFuture(null);
        }
    }

    @Override
    public void close() {
        closeAll("the agent is stopping");
        client.shutdownNow();
    }
}
