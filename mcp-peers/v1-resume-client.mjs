// A client on the official TypeScript SDK 1.x (revision 2025-11-25, sessions) whose GET/SSE
// stream the server breaks: the SDK reconnects with Last-Event-ID and must receive the three
// notifications sent while it was away (after the one it saw before the break). Prints one JSON object per step.
// Usage: node v1-resume-client.mjs URL [BEARER_TOKEN]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, token] = process.argv.slice(2);
const out = (step, value) => console.log(JSON.stringify({ step, ...value }));
const headers = token ? { Authorization: `Bearer ${token}` } : {};
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers },
  reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
});
const client = new Client({ name: "airlock-resume-client", version: "1.0.0" });
const received = [];
let all;
const done = new Promise((r) => (all = r));
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  received.push(n.params.data);
  if (received.length === 4) all();
});
try {
  await client.connect(transport);
  out("connected", { session: transport.sessionId, protocol: transport.protocolVersion ?? null });
  await new Promise((r) => setTimeout(r, 300)); // the SDK opens the GET stream after initialized
  const r = await client.callTool({ name: "drop-stream", arguments: {} });
  out("tools/call", { text: r.content[0].text });
  await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
  out("resumed", { received });
  await transport.terminateSession();
  await client.close();
  out("done", {});
} catch (e) {
  out("error", { message: String(e?.message ?? e) });
  process.exitCode = 1;
}
