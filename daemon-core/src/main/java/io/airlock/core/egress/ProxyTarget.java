package io.airlock.core.egress;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Where a proxy request wants to go: {@code CONNECT host:port} or an absolute {@code http://}
 * URI. Anything else is refused with what was expected, since a proxy cannot guess.
 *
 * @param path the origin-form request target for plain HTTP ({@code /path?query}); empty for CONNECT
 */
record ProxyTarget(String host, int port, String path) {
    /** Thrown for a request the proxy cannot serve; the message says what was expected. */
    static final class BadTarget extends Exception {
        BadTarget(String message) {
            super(message);
        }
    }

    static ProxyTarget of(HttpRequest req) throws BadTarget {
        String uri = req.uri();
        if (req.method().equals(HttpMethod.CONNECT)) {
            int colon = uri.lastIndexOf(':');
            if (colon <= 0 || uri.contains("/")) {
                throw new BadTarget("CONNECT '" + uri + "' (expected host:port, e.g. CONNECT pypi.org:443)");
            }
            String host = unbracket(uri.substring(0, colon));
            if (host.isEmpty()) {
                // "CONNECT []:443" names no host once unbracketed (found by ProxyRequestFuzzTest).
                throw new BadTarget("CONNECT '" + uri + "' names no host (expected host:port, e.g. CONNECT pypi.org:443)");
            }
            return new ProxyTarget(host, port(uri.substring(colon + 1), uri), "");
        }
        URI u;
        try {
            u = new URI(uri);
        } catch (URISyntaxException e) {
            throw new BadTarget("request target '" + uri + "' is not a URI (" + e.getReason() + ")");
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
        if (scheme.equals("https")) {
            throw new BadTarget("https URL sent as a plain request (expected CONNECT host:443; clients do this when HTTPS_PROXY is set)");
        }
        if (!scheme.equals("http") || u.getHost() == null) {
            throw new BadTarget("request target '" + uri + "' (expected an absolute http:// URL: this is a forward proxy, "
                    + "reached through HTTP_PROXY / HTTPS_PROXY)");
        }
        String path = (u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath())
                + (u.getRawQuery() == null ? "" : "?" + u.getRawQuery());
        // java.net.URI takes any digits as a port (0, 99999): judged like CONNECT's (found by ProxyRequestFuzzTest).
        return new ProxyTarget(unbracket(u.getHost()), u.getPort() == -1 ? 80 : port(Integer.toString(u.getPort()), uri), path);
    }

    private static int port(String text, String uri) throws BadTarget {
        try {
            int p = Integer.parseInt(text);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadTarget("port in '" + uri + "' (expected 1 to 65535)");
    }

    private static String unbracket(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }
}
