package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.mcp.McpServerSpec;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;

/** The contract over Streamable HTTP: the everything server as a process on loopback; the cut kills it. */
class HttpUpstreamContractIT extends UpstreamContract {
    private Process server;

    @Override
    McpServerSpec.Http http() throws Exception {
        int port = EverythingServer.freePort();
        server = EverythingServer.http(port);
        return new McpServerSpec.Http(URI.create("http://127.0.0.1:" + port + "/mcp"), null, Map.of());
    }

    @Override
    McpServerSpec.Stdio stdio() {
        return null;
    }

    @Override
    void cut() throws Exception {
        server.destroyForcibly();
        server.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    List<ProcessHandle> processes() {
        return List.of(server.toHandle());
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.destroyForcibly();
        }
    }
}
