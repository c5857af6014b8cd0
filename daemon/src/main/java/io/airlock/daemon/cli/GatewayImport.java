package io.airlock.daemon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the configuration of the hosted platform's MCP tunnel proxy (the one a cloudflared
 * connector fronts: {@code listen_addr}, {@code tunnel_domain}, {@code tls}, {@code routes},
 * {@code upstream.allowed_ips}, {@code upstream.tls.ca_file}) and writes the {@code mcp:}
 * section that makes Airlock that origin: one server per route, the gateway on the same address
 * and certificate, the same upstream address limit.
 */
public final class GatewayImport {
    /** What the proxy allows upstream when allowed_ips is not set: the RFC 1918 ranges. */
    static final List<String> PROXY_DEFAULT = List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16");

    private GatewayImport() {}

    /** The result: the YAML of the mcp section, and what did not carry over, one line each. */
    public record Result(String yaml, List<String> notes) {}

    public static Result convert(Path proxyConfig) throws IOException {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        JsonNode root;
        try {
            root = yaml.readTree(Files.readString(proxyConfig));
        } catch (IOException e) {
            throw new IOException(proxyConfig + ": not YAML (" + e.getMessage().lines().findFirst().orElse("") + ")");
        }
        if (root == null || !root.isObject()) {
            throw new IOException(proxyConfig + ": expected the proxy's configuration (a YAML mapping with listen_addr, routes, ...)");
        }
        List<String> notes = new ArrayList<>();
        JsonNode routes = root.path("routes");
        if (!routes.isObject() || routes.isEmpty()) {
            throw new IOException(proxyConfig + ": routes: missing or empty (expected a map of subdomain to upstream URL)");
        }
        String domain = root.path("tunnel_domain").asText("").strip().toLowerCase(Locale.ROOT);
        Map<String, String> byName = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = routes.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> r = it.next();
            String key = r.getKey().toLowerCase(Locale.ROOT);
            if (domain.isEmpty()) {
                // Keys are full host names: Airlock routes SERVER.DOMAIN, so they must share the domain after their first label.
                int dot = key.indexOf('.');
                String d = dot < 0 ? "" : key.substring(dot + 1);
                if (d.isEmpty()) {
                    throw new IOException(proxyConfig + ": routes." + r.getKey() + ": a bare name without tunnel_domain (expected tunnel_domain, "
                            + "or full host names)");
                }
                domain = d;
            }
            String name = key.endsWith("." + domain) ? key.substring(0, key.length() - domain.length() - 1) : key;
            if (!name.matches("[a-z0-9][a-z0-9-]{0,62}")) {
                throw new IOException(proxyConfig + ": routes." + r.getKey() + ": Airlock serves SERVER." + domain + " with SERVER 1-63 characters "
                        + "of [a-z0-9-]; this route's host does not fit (hosts of other domains cannot share one gateway)");
            }
            if (!r.getValue().isTextual()) {
                throw new IOException(proxyConfig + ": routes." + r.getKey() + ": expected an upstream URL");
            }
            byName.put(name, r.getValue().asText());
        }
        JsonNode upstream = root.path("upstream");
        String caFile = upstream.path("tls").path("ca_file").asText(null);
        if (upstream.path("tls").path("include_system_cas").asBoolean(false)) {
            notes.add("upstream.tls.include_system_cas: not carried over; an https server trusts only its ca_file (add the system CAs to that bundle)");
        }
        Map<String, Object> servers = new LinkedHashMap<>();
        byName.forEach((name, url) -> {
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("url", url);
            if (caFile != null && url.toLowerCase(Locale.ROOT).startsWith("https:")) {
                s.put("ca_file", caFile);
            }
            servers.put(name, s);
        });
        List<String> allowed = new ArrayList<>();
        if (upstream.path("disable_ip_validation").asBoolean(false)) {
            allowed.addAll(List.of("0.0.0.0/0", "::/0"));
            notes.add("upstream.disable_ip_validation: carried over as mcp.allowed_networks [0.0.0.0/0, ::/0]; narrow it");
        } else if (upstream.path("allowed_ips").isArray()) {
            upstream.path("allowed_ips").forEach(ip -> allowed.add(ip.asText().contains("/") ? ip.asText()
                    : ip.asText() + (ip.asText().contains(":") ? "/128" : "/32")));
        } else {
            allowed.addAll(PROXY_DEFAULT);
        }
        Map<String, Object> gateway = new LinkedHashMap<>();
        String listen = root.path("listen_addr").asText("");
        gateway.put("listen", listen.startsWith(":") ? "0.0.0.0" + listen : listen.isEmpty() ? "127.0.0.1:8443" : listen);
        gateway.put("tunnel_domain", domain);
        JsonNode tls = root.path("tls");
        if (tls.has("cert_file") || tls.has("key_file")) {
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("cert_file", tls.path("cert_file").asText());
            t.put("key_file", tls.path("key_file").asText());
            gateway.put("tls", t);
        }
        Map<String, Object> mcp = new LinkedHashMap<>();
        mcp.put("servers", servers);
        mcp.put("allowed_networks", allowed);
        mcp.put("gateway", gateway);
        ObjectMapper out = new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));
        return new Result(out.writeValueAsString(Map.of("mcp", mcp)), notes);
    }
}
