// The acceptance scenario of the MCP tunnel, run by the official TypeScript SDK as an unchanged
// MCP client against a Streamable HTTP URL. Prints one JSON object per step on stdout.
// Usage: node scenario.mjs URL [BEARER_TOKEN] [DENIED_TOOL]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, deniedTool] = process.argv.slice(2);
const headers = {
  "Airlock-Caller-User": "alice@example.test",
  "Airlock-Caller-Agent": "scenario-agent",
  "Airlock-Caller-Session": "conversation-7",
  // A caller trying to set an upstream credential itself: the agent must drop it.
  "X-Upstream-Token": "from-the-control-plane",
};
if (token) headers["Authorization"] = `Bearer ${token}`;
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
const client = new Client({ name: "airlock-scenario", version: "1.0.0" });
const out = (step, value) => console.log(JSON.stringify({ step, ...value }));

try {
  await client.connect(transport);
  out("initialize", { server: client.getServerVersion(), session: transport.sessionId ?? null });
  const tools = await client.listTools();
  out("tools/list", { tools: tools.tools.map((t) => t.name) });
  const echo = await client.callTool({ name: "echo", arguments: { message: "hello through the tunnel" } });
  out("tools/call echo", { text: echo.content[0].text });
  const progress = [];
  const long = await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 3 } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  out("tools/call progress", { progress, text: long.content[0].text });
  const resources = await client.listResources();
  const first = resources.resources[0];
  const read = await client.readResource({ uri: first.uri });
  out("resources", { count: resources.resources.length, uri: first.uri, read: read.contents.length });
  const prompt = await client.getPrompt({ name: "simple-prompt" });
  out("prompts/get", { messages: prompt.messages.length });
  if (deniedTool) {
    try {
      await client.callTool({ name: deniedTool, arguments: { a: 1, b: 2 } });
      out("denied", { refused: false });
    } catch (e) {
      out("denied", { refused: true, code: e.code, message: e.message });
    }
  }
  await transport.terminateSession();
  await client.close();
  out("done", {});
} catch (e) {
  out("error", { message: String(e?.message ?? e), code: e?.code ?? null });
  process.exitCode = 1;
}
