package io.airlock.tunnel.mcp.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProtectedResourceTest {
    @Test
    void theMetadataUrlFollowsRfc9728() {
        assertEquals("https://cp.example/.well-known/oauth-protected-resource/mcp/a1/files",
                ProtectedResource.metadataUrl(URI.create("https://cp.example/mcp/a1/files")));
        assertEquals("http://10.0.0.5:8080/.well-known/oauth-protected-resource",
                ProtectedResource.metadataUrl(URI.create("http://10.0.0.5:8080/")));
    }

    @Test
    void onlyResourceMetadataOfAChallengeIsMoved() {
        String challenge = "Bearer error=\"invalid_token\", resource_metadata=\"http://10.0.0.5/.well-known/oauth-protected-resource/mcp\", scope=\"a b\"";
        assertEquals(Optional.of("http://10.0.0.5/.well-known/oauth-protected-resource/mcp"), ProtectedResource.announced(challenge));
        assertEquals("Bearer error=\"invalid_token\", resource_metadata=\"https://cp/x$1\", scope=\"a b\"",
                ProtectedResource.rewriteChallenge(challenge, "https://cp/x$1"));
        assertEquals("Bearer realm=\"r\"", ProtectedResource.rewriteChallenge("Bearer realm=\"r\"", "https://cp/x"));
        assertEquals("Bearer resource_metadata=\"https://cp/x\"", ProtectedResource.rewriteChallenge("Bearer resource_metadata=http://in/y", "https://cp/x"));
    }

    @Test
    void theResourceIsMovedAndTheRestKept() throws Exception {
        byte[] out = ProtectedResource.rewriteMetadata("{\"resource\":\"http://in/mcp\",\"authorization_servers\":[\"https://as\"]}"
                .getBytes(StandardCharsets.UTF_8), "https://cp/mcp/a/s");
        assertEquals("{\"resource\":\"https://cp/mcp/a/s\",\"authorization_servers\":[\"https://as\"]}", new String(out, StandardCharsets.UTF_8));
        assertThrows(IOException.class, () -> ProtectedResource.rewriteMetadata("[1]".getBytes(StandardCharsets.UTF_8), "x"));
    }

    @Test
    void metadataIsFetchedOnlyFromTheServersOwnOrigin() {
        URI server = URI.create("http://10.0.0.5:8080/mcp");
        assertEquals(List.of(URI.create("http://10.0.0.5:8080/.well-known/oauth-protected-resource/custom"),
                        URI.create("http://10.0.0.5:8080/.well-known/oauth-protected-resource/mcp"),
                        URI.create("http://10.0.0.5:8080/.well-known/oauth-protected-resource")),
                ProtectedResource.candidates(server, "http://10.0.0.5:8080/.well-known/oauth-protected-resource/custom"));
        assertEquals(2, ProtectedResource.candidates(server, "http://169.254.169.254/.well-known/oauth-protected-resource").size());
        assertEquals(2, ProtectedResource.candidates(server, "http://10.0.0.5:8080/admin").size());
    }
}
