package io.airlock.core.config;

import io.airlock.tunnel.mcp.McpPolicy;
import io.airlock.tunnel.mcp.McpServerSpec;
import io.airlock.tunnel.mcp.SecretFile;
import io.airlock.tunnel.mcp.upstream.UpstreamAddresses;
import io.airlock.tunnel.net.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * The {@code mcp} section: the private MCP servers the control plane may reach through this
 * agent, by name, and what it may do on each. No servers (the default): the tunnel is off.
 *
 * @param servers          by name (1-63 characters of [a-z0-9-])
 * @param allowedNetworks  every address an HTTP server's host resolves to must lie in one of these
 * @param identityHeader   the header HTTP servers get the signed caller token in
 * @param identityTtl      how long a caller token is valid
 * @param maxExchanges     exchanges (HTTP requests and open streams) under way at once, all servers together
 * @param gateway          serve the servers as an origin behind a tunnel the customer runs; null: off
 */
public record McpConfig(Map<String, Server> servers, List<String> allowedNetworks, String identityHeader, Duration identityTtl,
        Integer maxExchanges, Gateway gateway) {
    public McpConfig {
        servers = servers == null ? Map.of() : new LinkedHashMap<>(servers);
        allowedNetworks = List.copyOf(allowedNetworks == null ? UpstreamAddresses.DEFAULT : allowedNetworks);
        for (String n : allowedNetworks) {
            try {
                Cidr.parse(n);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("mcp.allowed_networks: '" + n + "' (expected a CIDR range like 10.0.0.0/8): " + e.getMessage());
            }
        }
        identityHeader = identityHeader == null ? "Airlock-Caller" : identityHeader.strip();
        if (!identityHeader.matches("[A-Za-z0-9-]+")) {
            throw new IllegalArgumentException("mcp.identity_header: '" + identityHeader + "' (expected an HTTP header name)");
        }
        identityTtl = ConfigChecks.positive("mcp.identity_ttl", identityTtl, Duration.ofMinutes(5));
        maxExchanges = maxExchanges == null ? 4096 : maxExchanges;
        if (maxExchanges <= 0) {
            throw new IllegalArgumentException("mcp.max_exchanges: " + maxExchanges + " (expected: > 0)");
        }
        for (Map.Entry<String, Server> e : servers.entrySet()) {
            if (!e.getKey().matches("[a-z0-9][a-z0-9-]{0,62}")) {
                throw new IllegalArgumentException("mcp.servers: '" + e.getKey() + "' (expected a name of 1-63 characters of [a-z0-9-])");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("mcp.servers." + e.getKey() + ": empty (expected url or command)");
            }
            e.getValue().spec(e.getKey());
        }
        if (gateway != null && servers.isEmpty()) {
            throw new IllegalArgumentException("mcp.gateway: no mcp.servers to serve (expected at least one server)");
        }
    }

    /**
     * The gateway origin: an HTTP(S) listener that serves server NAME at host
     * {@code NAME.TUNNEL_DOMAIN}, for a tunnel connector (cloudflared and the proxy it fronts) that
     * routes there. Off unless configured; on loopback unless {@code listen} says otherwise, and
     * then only with TLS.
     *
     * @param listen       HOST:PORT (default 127.0.0.1:8443)
     * @param tunnelDomain the domain the servers' hosts end in
     * @param tls          the certificate the connector checks (issued by the customer's CA); null: plain HTTP (loopback only)
     */
    public record Gateway(String listen, String tunnelDomain, GatewayTls tls) {
        public Gateway {
            listen = listen == null || listen.isBlank() ? "127.0.0.1:8443" : listen.strip();
            if (tunnelDomain == null || tunnelDomain.isBlank()) {
                throw new IllegalArgumentException("mcp.gateway.tunnel_domain: missing (expected the domain the servers' hosts end in, e.g. mcp.example.com)");
            }
            tunnelDomain = tunnelDomain.strip().toLowerCase(Locale.ROOT);
            if (tunnelDomain.startsWith(".") || !tunnelDomain.matches("[a-z0-9.-]+")) {
                throw new IllegalArgumentException("mcp.gateway.tunnel_domain: '" + tunnelDomain + "' (expected a domain name like mcp.example.com)");
            }
            InetSocketAddress at = address(listen);
            if (!at.getAddress().isLoopbackAddress() && tls == null) {
                throw new IllegalArgumentException("mcp.gateway.listen: " + listen + " is not loopback; set mcp.gateway.tls "
                        + "(cert_file, key_file) so the tunnel connector reaches it over TLS");
            }
            if (tls != null && (tls.certFile() == null || tls.keyFile() == null)) {
                throw new IllegalArgumentException("mcp.gateway.tls: set cert_file and key_file (PEM)");
            }
        }

        public InetSocketAddress address() {
            return address(listen);
        }

        private static InetSocketAddress address(String listen) {
            int colon = listen.lastIndexOf(':');
            try {
                String host = listen.substring(0, colon).replace("[", "").replace("]", "");
                int port = Integer.parseInt(listen.substring(colon + 1));
                if (colon <= 0 || port < 0 || port > 65535) {
                    throw new IllegalArgumentException();
                }
                return new InetSocketAddress(InetAddress.getByName(host), port);
            } catch (RuntimeException | UnknownHostException e) {
                throw new IllegalArgumentException("mcp.gateway.listen: '" + listen + "' (expected HOST:PORT with an IP address, e.g. 127.0.0.1:8443)");
            }
        }
    }

    /** @param certFile PEM certificate chain; @param keyFile its PEM private key (PKCS#8) */
    public record GatewayTls(Path certFile, Path keyFile) {}

    public static McpConfig defaults() {
        return new McpConfig(null, null, null, null, null, null);
    }

    public boolean enabled() {
        return !servers.isEmpty();
    }

    public UpstreamAddresses addresses() {
        return new UpstreamAddresses(allowedNetworks.stream().map(Cidr::parse).toList());
    }

    /** The registry, built from the entries (TLS contexts read from their files). */
    public List<McpServerSpec> specs() {
        return servers.entrySet().stream().map(e -> e.getValue().spec(e.getKey())).toList();
    }

    /**
     * One server: {@code url} (Streamable HTTP) or {@code command} (stdio, one process per session).
     *
     * @param url              http:// or https:// endpoint
     * @param caFile           PEM bundle the server's certificate must chain to (https; default: the JDK's CAs)
     * @param clientCertFile   PEM certificate the agent presents (https with mTLS), with {@code clientKeyFile}
     * @param clientKeyFile    its PEM private key (PKCS#8)
     * @param headers          headers the agent adds, each read from a secret file
     * @param command          argv of the server process
     * @param env              environment of the process (on top of PATH, HOME, LANG, TZ)
     * @param workingDir       its working directory
     * @param methods          JSON-RPC methods the control plane may send (empty: any)
     * @param tools            tools it may call: {@code allow} (empty: any) and {@code deny}
     * @param maxSessions      concurrent MCP sessions (stdio: processes)
     * @param requestTimeout   how long a POST may take, answer included
     * @param idleTimeout      a session unused this long is ended
     * @param maxRequestBytes  largest request body
     * @param maxResponseBytes largest response (an SSE stream counts whole)
     */
    public record Server(String url, Path caFile, Path clientCertFile, Path clientKeyFile, Map<String, SecretHeader> headers,
            List<String> command, Map<String, String> env, Path workingDir, List<String> methods, Tools tools, Integer maxSessions,
            Duration requestTimeout, Duration idleTimeout, ByteSize maxRequestBytes, ByteSize maxResponseBytes) {
        public Server {
            headers = headers == null ? Map.of() : headers;
            command = command == null ? List.of() : List.copyOf(command);
            env = env == null ? Map.of() : env;
            methods = methods == null ? List.of() : List.copyOf(methods);
            tools = tools == null ? new Tools(null, null) : tools;
        }

        McpServerSpec spec(String name) {
            String field = "mcp.servers." + name;
            if ((url == null) == command.isEmpty()) {
                throw new IllegalArgumentException(field + ": set url (Streamable HTTP) or command (stdio), exactly one");
            }
            int sessions = maxSessions == null ? 64 : maxSessions;
            if (sessions <= 0) {
                throw new IllegalArgumentException(field + ".max_sessions: " + sessions + " (expected: > 0)");
            }
            var limits = new McpServerSpec.Limits(sessions,
                    ConfigChecks.positive(field + ".request_timeout", requestTimeout, Duration.ofMinutes(5)),
                    ConfigChecks.positive(field + ".idle_timeout", idleTimeout, Duration.ofMinutes(30)),
                    positive(field + ".max_request_bytes", maxRequestBytes, 4L << 20),
                    positive(field + ".max_response_bytes", maxResponseBytes, 64L << 20));
            McpPolicy policy = new McpPolicy(name, Set.copyOf(methods), Set.copyOf(tools.allow()), Set.copyOf(tools.deny()));
            if (command.isEmpty()) {
                return new McpServerSpec(name, http(field), null, policy, limits);
            }
            if (!headers.isEmpty() || caFile != null || clientCertFile != null) {
                throw new IllegalArgumentException(field + ": headers, ca_file and client_cert_file apply to url servers only");
            }
            return new McpServerSpec(name, null, new McpServerSpec.Stdio(command, env, workingDir), policy, limits);
        }

        private McpServerSpec.Http http(String field) {
            URI uri;
            try {
                uri = URI.create(url);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(field + ".url: '" + url + "' (expected an http:// or https:// URL)");
            }
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
                throw new IllegalArgumentException(field + ".url: '" + url + "' (expected an http:// or https:// URL with a host)");
            }
            if ((clientCertFile == null) != (clientKeyFile == null)) {
                throw new IllegalArgumentException(field + ": client_cert_file and client_key_file go together");
            }
            if (!env.isEmpty() || workingDir != null) {
                throw new IllegalArgumentException(field + ": env and working_dir apply to command servers only");
            }
            Map<String, SecretFile> secrets = new LinkedHashMap<>();
            headers.forEach((h, s) -> {
                if (s == null || s.file() == null) {
                    throw new IllegalArgumentException(field + ".headers." + h + ": no file (expected {file: PATH, prefix: TEXT})");
                }
                secrets.put(h, new SecretFile(s.file(), s.prefix()));
            });
            SSLContext tls = caFile == null && clientCertFile == null ? null
                    : UpstreamTls.context(field, caFile, clientCertFile, clientKeyFile);
            return new McpServerSpec.Http(uri, tls, secrets);
        }

        private static long positive(String field, ByteSize value, long fallback) {
            long v = value == null ? fallback : value.bytes();
            if (v <= 0) {
                throw new IllegalArgumentException(field + ": " + v + " (expected: > 0)");
            }
            return v;
        }
    }

    /** @param allow tools that may be called (empty: any); @param deny tools that may never be */
    public record Tools(List<String> allow, List<String> deny) {
        public Tools {
            allow = allow == null ? List.of() : List.copyOf(allow);
            deny = deny == null ? List.of() : List.copyOf(deny);
        }
    }

    /** @param file the secret (one line); @param prefix put before it, e.g. "Bearer " */
    public record SecretHeader(Path file, String prefix) {}
}
