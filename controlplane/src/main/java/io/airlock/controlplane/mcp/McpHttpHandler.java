package io.airlock.controlplane.mcp;

import com.google.protobuf.ByteString;
import io.airlock.controlplane.gateway.AgentClient;
import io.airlock.controlplane.gateway.CommandFailedException;
import io.airlock.httpfront.ExchangeHandler;
import io.airlock.proto.v1.ErrorCode;
import io.airlock.proto.v1.McpCaller;
import io.airlock.proto.v1.McpExchange;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One caller connection of the MCP endpoint: each request becomes an McpExchange command to the
 * agent ({@link ExchangeHandler} runs it, one at a time, at the caller's pace, cancelled when the
 * caller hangs up, which reaches the upstream as its request closing).
 */
final class McpHttpHandler extends ExchangeHandler {
    private static final int INLINE_BODY = 64 * 1024;
    private static final Duration POST_TIMEOUT = Duration.ofMinutes(15);
    private static final Duration STREAM_TIMEOUT = Duration.ofHours(24);
    /** Streamable HTTP's headers (both revisions; and any mcp-param-*), passed to the agent. */
    private static final Set<String> FORWARDED = Set.of("accept", "content-type", "mcp-session-id", "mcp-protocol-version", "last-event-id",
            "mcp-method", "mcp-name");
    /** Where callers may put the admin token so that Authorization stays free for an upstream's own OAuth token. */
    static final String ADMIN_TOKEN_HEADER = "airlock-admin-token";
    private static final String METADATA_PREFIX = "/.well-known/oauth-protected-resource";

    private final AgentClient agents;
    private final byte[] token;

    McpHttpHandler(AgentClient agents, String bearerToken) {
        this.agents = agents;
        this.token = bearerToken == null ? null : ("Bearer " + bearerToken).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected void start(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String uriPath = req.uri().replaceFirst("\\?.*$", "");
        boolean metadata = uriPath.startsWith(METADATA_PREFIX + "/");
        String[] path = (metadata ? uriPath.substring(METADATA_PREFIX.length()) : uriPath).split("/");
        if (path.length != 4 || !path[1].equals("mcp") || path[2].isEmpty() || path[3].isEmpty()) {
            refuse(ctx, HttpResponseStatus.NOT_FOUND, -32600, "no such endpoint: " + req.uri() + " (expected /mcp/AGENT_ID/SERVER, or "
                    + METADATA_PREFIX + "/mcp/AGENT_ID/SERVER for its OAuth metadata)", keepAlive, Map.of());
            return;
        }
        // RFC 9728's metadata is public: an OAuth client fetches it before it has any credential.
        String adminHeader = req.headers().get(ADMIN_TOKEN_HEADER);
        boolean tokenInOwnHeader = adminHeader != null;
        byte[] presented = (tokenInOwnHeader ? "Bearer " + adminHeader : req.headers().get(HttpHeaderNames.AUTHORIZATION, ""))
                .getBytes(StandardCharsets.UTF_8);
        if (!metadata && token != null && !MessageDigest.isEqual(token, presented)) {
            refuse(ctx, HttpResponseStatus.UNAUTHORIZED, -32600, "missing or wrong admin token (expected the control plane's admin token in "
                    + "Airlock-Admin-Token, or as Authorization: Bearer when the MCP server does not want the caller's own token)", keepAlive,
                    Map.of(HttpHeaderNames.WWW_AUTHENTICATE.toString(), "Bearer"));
            return;
        }
        String method = metadata ? "GET" : req.method().name();
        McpExchange.Builder x = McpExchange.newBuilder().setServer(path[3]).setMethod(method)
                .setPublicUrl(publicUrl(ctx, path[2], path[3])).setResourceMetadata(metadata)
                .setCaller(McpCaller.newBuilder().setUser(req.headers().get("airlock-caller-user", ""))
                        .setAgent(req.headers().get("airlock-caller-agent", "")).setSession(req.headers().get("airlock-caller-session", "")));
        for (Map.Entry<String, String> h : req.headers()) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            // The caller's Authorization is the upstream's business, unless it carried our admin token.
            boolean callerToken = name.equals("authorization") && (tokenInOwnHeader || token == null);
            if (!metadata && (FORWARDED.contains(name) || name.startsWith("mcp-param-") || callerToken)) {
                x.putHeaders(name, h.getValue());
            }
        }
        int size = req.content().readableBytes();
        InputStream streamed = null;
        if (size <= INLINE_BODY) {
            x.setBody(ByteString.copyFrom(req.content().nioBuffer()));
        } else {
            x.setBodyOnStream(true);
            streamed = new ByteBufInputStream(req.content().retainedDuplicate(), true);
        }
        String agent = path[2];
        InputStream body = streamed;
        Response response = response(ctx, keepAlive);
        launch(ctx, "mcp-" + agent + "-" + path[3], () -> run(agent, x.build(), body, response));
    }

    private void run(String agent, McpExchange x, InputStream body, Response out) {
        AgentClient.McpResponse response = new AgentClient.McpResponse() {
            @Override
            public void head(int status, Map<String, String> headers, ByteString body, boolean end) throws IOException {
                out.head(status, headers);
                if (!body.isEmpty()) {
                    out.body(Unpooled.wrappedBuffer(body.asReadOnlyByteBuffer()));
                }
                if (end) {
                    out.end();
                } else {
                    out.flush();
                }
            }

            @Override
            public void body(ByteString bytes) throws IOException {
                out.body(Unpooled.wrappedBuffer(bytes.asReadOnlyByteBuffer()));
            }

            @Override
            public void end() throws IOException {
                out.end();
            }
        };
        try (InputStream releasedAtEnd = body) {
            // Closing the streamed body releases the request buffer it holds, also when the exchange failed before reading it.
            agents.mcp(agent, x, body, response, gone(), x.getMethod().equals("POST") ? POST_TIMEOUT : STREAM_TIMEOUT);
        } catch (IOException e) {
            // closing a buffer's stream does not fail
        } catch (CommandFailedException e) {
            if (!out.headSent()) {
                out.error(status(e.error().getCode()), -32603, e.error().getMessage());
                return;
            }
        } catch (RuntimeException e) {
            if (!out.headSent()) {
                out.error(HttpResponseStatus.BAD_GATEWAY, -32603, "the exchange failed: " + e.getMessage());
                return;
            }
        }
        out.finish();
    }

    /** Where the caller reaches an agent's server here: what its OAuth metadata is moved to. */
    private static String publicUrl(ChannelHandlerContext ctx, String agent, String server) {
        InetSocketAddress local = (InetSocketAddress) ctx.channel().localAddress();
        return "http://" + local.getAddress().getHostAddress() + ":" + local.getPort() + "/mcp/" + agent + "/" + server;
    }

    private static HttpResponseStatus status(ErrorCode code) {
        return switch (code) {
            case INVALID_ARGUMENT -> HttpResponseStatus.BAD_REQUEST;
            case NOT_FOUND -> HttpResponseStatus.NOT_FOUND;
            case POLICY_DENIED -> HttpResponseStatus.FORBIDDEN;
            case RESOURCE_EXHAUSTED -> HttpResponseStatus.TOO_MANY_REQUESTS;
            case DEADLINE_EXCEEDED -> HttpResponseStatus.GATEWAY_TIMEOUT;
            case UNAVAILABLE, DRAINING -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            default -> HttpResponseStatus.BAD_GATEWAY;
        };
    }
}
