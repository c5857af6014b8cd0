package io.airlock.controlplane.cli;

import static io.airlock.controlplane.cli.ControlPlaneCommand.*;

import io.airlock.controlplane.ControlPlaneServer;
import io.airlock.controlplane.ControlPlaneStack;
import io.airlock.controlplane.admin.AdminToken;
import io.airlock.notation.Durations;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code airlock cp serve}: the reference control plane, its admin API and MCP endpoint, until interrupted. */
final class ServeCommand {
    private ServeCommand() {}

    @Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the control plane until interrupted.")
    static final class Serve extends CliCommand {
        @Option(names = "--state-dir", description = STATE_HELP)
        Path stateDir = defaultStateDir();

        @Option(names = "--listen", description = "Agent endpoint host:port (mTLS). Default: ${DEFAULT-VALUE}")
        String listen = "127.0.0.1:7443";

        @Option(names = "--advertise", description = "host:port agents dial, put in join tokens. Default: the --listen address")
        String advertise;

        @Option(names = "--admin-port", description = "Admin API port on 127.0.0.1 (0: any free port). Default: ${DEFAULT-VALUE}")
        int adminPort = 0;

        @Option(names = "--cert-validity", description = "Lifetime of agent certificates, e.g. 24h. Default: ${DEFAULT-VALUE}")
        String certValidity = "24h";

        @Option(names = "--mcp-port", description = {"Port on 127.0.0.1 of the MCP endpoint: every agent's private MCP servers at",
            "http://127.0.0.1:PORT/mcp/AGENT_ID/SERVER (Streamable HTTP, both MCP revisions; the admin token in Airlock-Admin-Token,",
            "leaving Authorization to a server's own OAuth token, or as Authorization: Bearer), and each server's OAuth metadata at",
            "/.well-known/oauth-protected-resource/mcp/AGENT_ID/SERVER. 0: any free port. Default: ${DEFAULT-VALUE}"})
        int mcpPort = 0;

        @Override
        public Integer call() throws Exception {
            bridgeJavaUtilLogging();
            int colon = listen.lastIndexOf(':');
            if (colon < 0) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--listen: '" + listen + "' (expected: host:port)");
            }
            ControlPlaneStack stack = ControlPlaneStack.start(new ControlPlaneServer.Options(stateDir, listen.substring(0, colon),
                    Integer.parseInt(listen.substring(colon + 1)), advertise, Durations.parse(certValidity)), adminPort, mcpPort);
            out().println("control plane on " + stack.server().address() + " (CA pin " + stack.server().ca().pin() + "), admin API on 127.0.0.1:"
                    + stack.admin().port());
            out().println("MCP endpoint: " + stack.mcp().url("AGENT_ID", "SERVER") + " (Authorization: Bearer <the token in "
                    + AdminToken.file(stateDir) + ">)");
            out().println("create a join token with: airlock cp token create --state-dir " + stateDir);
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stack.close();
                stop.countDown();
            }));
            stop.await();
            return 0;
        }
    }

    /**
     * grpc-java logs through java.util.logging, whose default handler prints raw lines on stderr
     * (an agent's oversized message, say): route it into the log, where io.grpc's level applies.
     */
    private static void bridgeJavaUtilLogging() {
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }
}
