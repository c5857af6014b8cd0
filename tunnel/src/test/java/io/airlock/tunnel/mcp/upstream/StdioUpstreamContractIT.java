package io.airlock.tunnel.mcp.upstream;

import io.airlock.tunnel.mcp.McpServerSpec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The contract over stdio: the tunnel runs the everything server per session; the cut kills that process. */
class StdioUpstreamContractIT extends UpstreamContract {
    @Override
    McpServerSpec.Http http() {
        return null;
    }

    @Override
    McpServerSpec.Stdio stdio() {
        return new McpServerSpec.Stdio(EverythingServer.stdioCommand(), Map.of(), null);
    }

    @Override
    List<ProcessHandle> processes() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().arguments().map(a -> String.join(" ", a).contains("server-everything")).orElse(false)).toList();
    }

    @Override
    void cut() throws Exception {
        List<ProcessHandle> servers = processes();
        if (servers.isEmpty()) {
            throw new IllegalStateException("no stdio server process to cut");
        }
        for (ProcessHandle p : servers) {
            p.destroyForcibly();
            p.onExit().get(10, TimeUnit.SECONDS);
        }
    }
}
