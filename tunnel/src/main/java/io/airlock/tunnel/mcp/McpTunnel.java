package io.airlock.tunnel.mcp;

import io.airlock.tunnel.mcp.identity.CallerTokens;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import io.airlock.tunnel.mcp.jsonrpc.McpErrors;
import io.airlock.tunnel.mcp.jsonrpc.RpcMessage;
import io.airlock.tunnel.mcp.jsonrpc.StandardHeaders;
import io.airlock.tunnel.mcp.upstream.HttpUpstream;
import io.airlock.tunnel.mcp.upstream.StdioUpstream;
import io.airlock.tunnel.mcp.upstream.Upstream;
import io.airlock.tunnel.mcp.upstream.UpstreamAddresses;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's private MCP servers, by name, and the one entry point the connector calls for
 * each HTTP exchange the control plane sends. The control plane names a server, never an
 * address; every JSON-RPC message is checked against the server's policy before anything goes
 * upstream, and every exchange leaves audit records.
 */
public final class McpTunnel implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(McpTunnel.class);

    private final Map<String, McpServerSpec> specs;
    private final Map<String, Upstream> upstreams = new LinkedHashMap<>();
    private final McpAudit audit;
    private final ScheduledExecutorService timers;

    /** The outcome of one exchange, for the command's result. */
    public record Result(int status, long requestBytes, long responseBytes) {}

    /**
     * @param identityHeader the header the signed caller token goes in (HTTP servers; stdio servers get it in
     *                       {@code params._meta})
     */
    public McpTunnel(List<McpServerSpec> servers, UpstreamAddresses addresses, CallerTokens tokens, String identityHeader, McpAudit audit) {
        this.audit = audit;
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mcp-timers");
            t.setDaemon(true);
            return t;
        });
        Map<String, McpServerSpec> byName = new LinkedHashMap<>();
        for (McpServerSpec s : servers) {
            byName.put(s.name(), s);
            upstreams.put(s.name(), s.http() != null ? new HttpUpstream(s, addresses, tokens, identityHeader, timers)
                    : new StdioUpstream(s, tokens));
        }
        this.specs = Map.copyOf(byName);
        timers.scheduleWithFixedDelay(this::expireIdle, 1, 1, TimeUnit.SECONDS);
    }

    public List<String> servers() {
        return List.copyOf(upstreams.keySet());
    }

    /** The server's size limit for request bodies, to bound a body still arriving; empty for an unknown server. */
    public Optional<Long> maxRequestBytes(String server) {
        return Optional.ofNullable(specs.get(server)).map(s -> s.limits().maxRequestBytes());
    }

    /** Sessions open now, by server. */
    public Map<String, Integer> sessions() {
        Map<String, Integer> out = new LinkedHashMap<>();
        upstreams.forEach((name, u) -> out.put(name, u.sessions()));
        return out;
    }

    /**
     * Carries one exchange to its server and the response back into {@code sink}. Refusals (an
     * unknown server, a method or tool the policy denies, a malformed body, a limit, a dead
     * upstream) are answered on {@code sink} as HTTP errors with a JSON-RPC error body. Throws
     * only when the sink fails (the caller went away) or the response broke mid-body.
     */
    public Result exchange(McpRequest request, ResponseSink sink) throws IOException, InterruptedException {
        Exchange ex = null;
        try {
            McpServerSpec spec = specs.get(request.server());
            if (spec == null) {
                // Read for the record and the error's id; the endpoint bounded the body by the largest max_request_bytes.
                ex = new Exchange(request.server(), 1 << 16, request, parsedOrNone(request), sink, audit);
                ex.denied(404, new McpPolicy.Denial("mcp.servers", "no MCP server '" + request.server() + "' in this agent's mcp.servers (it has: "
                        + (specs.isEmpty() ? "none" : String.join(", ", new TreeSet<>(specs.keySet()))) + ")"));
                return result(ex);
            }
            if (request.resourceMetadata()) {
                ex = new Exchange(spec.name(), spec.limits().maxResponseBytes(), request, List.of(), sink, audit);
                if (spec.http() == null) {
                    ex.refuse(404, McpErrors.UPSTREAM_UNAVAILABLE, "MCP server '" + spec.name()
                            + "' runs over stdio: it has no OAuth protected-resource metadata");
                } else {
                    upstreams.get(spec.name()).exchange(ex);
                }
                return result(ex);
            }
            List<RpcMessage> messages = List.of();
            switch (request.method()) {
                case "POST" -> {
                    if (request.body().length > spec.limits().maxRequestBytes()) {
                        ex = new Exchange(spec.name(), spec.limits().maxResponseBytes(), request, List.of(), sink, audit);
                        ex.refuse(413, McpErrors.LIMIT, "the request (" + request.body().length + " bytes) exceeds mcp.servers." + spec.name()
                                + ".max_request_bytes (" + spec.limits().maxRequestBytes() + " bytes)");
                        return result(ex);
                    }
                    try {
                        messages = JsonRpcMessages.parse(request.body(), audit::hash);
                    } catch (JsonRpcMessages.MalformedException e) {
                        ex = new Exchange(spec.name(), spec.limits().maxResponseBytes(), request, List.of(), sink, audit);
                        ex.refuse(400, McpSchema.ErrorCodes.PARSE_ERROR, e.getMessage());
                        return result(ex);
                    }
                }
                case "GET", "DELETE" -> { }
                default -> {
                    ex = new Exchange(spec.name(), spec.limits().maxResponseBytes(), request, List.of(), sink, audit);
                    ex.refuse(405, McpSchema.ErrorCodes.INVALID_REQUEST, "HTTP method '" + request.method()
                            + "' (expected POST, GET or DELETE: MCP's Streamable HTTP)");
                    return result(ex);
                }
            }
            ex = new Exchange(spec.name(), spec.limits().maxResponseBytes(), request, messages, sink, audit);
            Optional<String> mismatch = StandardHeaders.mismatch(request.headers(), messages);
            if (mismatch.isPresent()) {
                // The policy judged the body; an upstream or a router in front of it may act on the headers.
                log.info("MCP server {}: refused a request whose headers disagree with its body: {}", spec.name(), mismatch.get());
                ex.denied(400, McpErrors.HEADER_MISMATCH, new McpPolicy.Denial(StandardHeaders.RULE, mismatch.get()));
                return result(ex);
            }
            for (RpcMessage m : messages) {
                Optional<McpPolicy.Denial> denial = spec.policy().check(m);
                if (denial.isPresent()) {
                    log.info("MCP server {}: {} refused by {}", spec.name(), m.tool() != null ? "tool " + m.tool() : m.method(), denial.get().rule());
                    ex.denied(denial.get());
                    return result(ex);
                }
            }
            upstreams.get(spec.name()).exchange(ex);
            return result(ex);
        } catch (IOException e) {
            if (ex != null) {
                ex.broke("the exchange broke: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName())
                        + " (the caller went away, or the upstream's response broke)");
            }
            throw e;
        } catch (InterruptedException e) {
            if (ex != null) {
                ex.broke("the exchange was interrupted: the agent is stopping");
            }
            throw e;
        } finally {
            if (ex != null) {
                ex.audit(); // once: an answer that ended was audited before its end; one that broke (or whose caller left), here
            }
        }
    }

    /** The messages of a POST body, or none when it is not JSON-RPC (only for the record and the error's id). */
    private List<RpcMessage> parsedOrNone(McpRequest request) {
        if (!request.method().equals("POST")) {
            return List.of();
        }
        try {
            return JsonRpcMessages.parse(request.body(), audit::hash);
        } catch (JsonRpcMessages.MalformedException e) {
            return List.of();
        }
    }

    private static Result result(Exchange ex) {
        return new Result(ex.status(), ex.request().body().length, ex.responseBytes());
    }

    /** Ends every session and stream of every server: the control link that carried them is gone. */
    public void closeAll(String reason) {
        upstreams.values().forEach(u -> u.closeAll(reason));
    }

    private void expireIdle() {
        for (Upstream u : upstreams.values()) {
            try {
                u.expireIdle();
            } catch (RuntimeException e) {
                log.warn("MCP idle expiry failed: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        upstreams.values().forEach(Upstream::close);
        timers.shutdownNow();
    }
}
