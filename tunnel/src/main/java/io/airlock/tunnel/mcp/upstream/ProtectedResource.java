package io.airlock.tunnel.mcp.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlock.tunnel.mcp.jsonrpc.JsonRpcMessages;
import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OAuth 2.1 protected-resource metadata (RFC 9728) of a private server, seen from the caller's
 * side: the caller reaches the server only at a public URL (the control plane's or the
 * gateway's), so the {@code resource_metadata} a 401 names and the {@code resource} the metadata
 * declares are moved there. Everything else (scope, error, authorization servers) passes as the
 * server wrote it. Hand-written: RFC 9728's two rewrites are a few lines, and the SDK has no
 * server-side helper for an intermediary.
 */
public final class ProtectedResource {
    static final String WELL_KNOWN = "/.well-known/oauth-protected-resource";
    private static final Pattern RESOURCE_METADATA = Pattern.compile("(?i)(\\bresource_metadata\\s*=\\s*)(\"[^\"]*\"|[^\\s,]+)");

    private ProtectedResource() {}

    /** Where RFC 9728 puts the metadata of {@code resource}: the well-known path, then the resource's path. */
    public static String metadataUrl(URI resource) {
        String path = resource.getRawPath() == null || resource.getRawPath().equals("/") ? "" : resource.getRawPath();
        if (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return resource.getScheme() + "://" + resource.getRawAuthority() + WELL_KNOWN + path;
    }

    /** The {@code resource_metadata} URL of a {@code WWW-Authenticate} challenge, if it names one. */
    static Optional<String> announced(String challenge) {
        Matcher m = RESOURCE_METADATA.matcher(challenge);
        if (!m.find()) {
            return Optional.empty();
        }
        String v = m.group(2);
        return Optional.of(v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
    }

    /** The challenge with its {@code resource_metadata} pointing at {@code publicMetadataUrl}; unchanged without one. */
    static String rewriteChallenge(String challenge, String publicMetadataUrl) {
        return RESOURCE_METADATA.matcher(challenge).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + "\"" + publicMetadataUrl + "\""));
    }

    /** The metadata with {@code resource} set to the server's public URL. */
    static byte[] rewriteMetadata(byte[] json, String publicUrl) throws IOException {
        JsonNode root = JsonRpcMessages.JSON.readTree(json);
        if (root == null || !root.isObject()) {
            throw new IOException("the protected-resource metadata is not a JSON object");
        }
        ((ObjectNode) root).put("resource", publicUrl);
        return JsonRpcMessages.JSON.writeValueAsBytes(root);
    }

    /**
     * Where to look for the upstream's metadata, in order: the URL its last challenge named when
     * it lies on the server's own origin (never elsewhere: the agent only talks to the server it
     * is configured with), RFC 9728's path form, then the origin's root form.
     */
    static List<URI> candidates(URI server, String announced) {
        List<URI> out = new ArrayList<>();
        if (announced != null) {
            try {
                URI a = URI.create(announced);
                if (sameOrigin(a, server) && a.getRawPath() != null && a.getRawPath().startsWith(WELL_KNOWN)) {
                    out.add(a);
                }
            } catch (IllegalArgumentException e) {
                // a malformed announcement is skipped; the standard places remain
            }
        }
        URI pathForm = URI.create(metadataUrl(server));
        if (!out.contains(pathForm)) {
            out.add(pathForm);
        }
        URI root = URI.create(server.getScheme() + "://" + server.getRawAuthority() + WELL_KNOWN);
        if (!out.contains(root)) {
            out.add(root);
        }
        return out;
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }
}
