package io.airlock.tunnel.mcp;

import io.airlock.tunnel.mcp.jsonrpc.RpcMessage;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the operator lets the control plane do on one server: which JSON-RPC methods it may
 * send (empty: any) and which tools it may call ({@code allowTools} empty: any; a name in
 * {@code denyTools} is refused either way).
 *
 * @param server the server's name, for naming the rule that refused
 */
public record McpPolicy(String server, Set<String> methods, Set<String> allowTools, Set<String> denyTools) {
    public McpPolicy {
        methods = Set.copyOf(methods);
        allowTools = Set.copyOf(allowTools);
        denyTools = Set.copyOf(denyTools);
    }

    public static McpPolicy allowAll(String server) {
        return new McpPolicy(server, Set.of(), Set.of(), Set.of());
    }

    /** Why a message is refused. @param rule the configuration field that refuses it */
    public record Denial(String rule, String message) {}

    /** A refusal of {@code message}, or empty when it may pass. Responses to the server always pass. */
    public Optional<Denial> check(RpcMessage message) {
        if (message.message() instanceof McpSchema.JSONRPCResponse) {
            return Optional.empty();
        }
        String method = message.method();
        if (!methods.isEmpty() && !methods.contains(method)) {
            return Optional.of(new Denial(field("methods"), "method '" + method + "' is not allowed on MCP server '" + server
                    + "' (mcp.servers." + server + ".methods allows " + String.join(", ", new TreeSet<>(methods)) + ")"));
        }
        String tool = message.tool();
        if (tool == null) {
            return Optional.empty();
        }
        if (denyTools.contains(tool)) {
            return Optional.of(new Denial(field("tools.deny"), "tool '" + tool + "' on MCP server '" + server
                    + "' is denied by the agent's policy (mcp.servers." + server + ".tools.deny)"));
        }
        if (!allowTools.isEmpty() && !allowTools.contains(tool)) {
            return Optional.of(new Denial(field("tools.allow"), "tool '" + tool + "' on MCP server '" + server
                    + "' is not in the agent's policy (mcp.servers." + server + ".tools.allow lists "
                    + String.join(", ", new TreeSet<>(allowTools)) + ")"));
        }
        return Optional.empty();
    }

    private String field(String name) {
        return "mcp.servers." + server + "." + name;
    }
}
