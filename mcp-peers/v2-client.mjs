// A client on the official TypeScript SDK v2 (@modelcontextprotocol/client), speaking the
// 2026-07-28 revision to URL: discovers the server, lists and calls tools (one with an
// Mcp-Param header), aborts a long call after 600 ms (closing its response, which is how the
// revision cancels), and, with --oauth, gets its token by the client-credentials grant from
// whatever authorization server the 401's protected-resource metadata names. Prints one JSON
// object per step.
//
// Usage: node v2-client.mjs URL [--token ADMIN_TOKEN] [--oauth ISSUER] [--denied TOOL] [--connect-to IP] [--ca PEM]
//   --token goes in Airlock-Admin-Token (so Authorization stays free for the upstream's token).
//   --connect-to: URL's host name resolves to IP (a gateway's SERVER.DOMAIN, which no resolver
//   here knows); --ca: the CA bundle its TLS certificate chains to.
import { readFileSync } from "node:fs";
import { Agent, fetch as undiciFetch } from "undici";
import { Client, StreamableHTTPClientTransport, ClientCredentialsProvider } from "@modelcontextprotocol/client";

const [url, ...rest] = process.argv.slice(2);
const opt = (name) => (rest.includes(name) ? rest[rest.indexOf(name) + 1] : undefined);
const out = (step, value) => console.log(JSON.stringify({ step, ...value }));
const headers = { "Airlock-Caller-User": "bob@example.test", "Airlock-Caller-Agent": "v2-client" };
if (opt("--token")) headers["Airlock-Admin-Token"] = opt("--token");
const authProvider = opt("--oauth")
  ? new ClientCredentialsProvider({ clientId: "airlock-test", clientSecret: "s3cret", expectedIssuer: opt("--oauth") })
  : undefined;
let fetch;
if (opt("--connect-to") || opt("--ca")) {
  const ip = opt("--connect-to");
  const connect = {};
  if (ip) connect.lookup = (host, options, cb) => (options?.all ? cb(null, [{ address: ip, family: 4 }]) : cb(null, ip, 4));
  if (opt("--ca")) connect.ca = readFileSync(opt("--ca"), "utf8");
  const dispatcher = new Agent({ connect });
  fetch = (input, init) => undiciFetch(input, { ...init, dispatcher });
}
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, authProvider, fetch });
const client = new Client(
  { name: "airlock-v2-client", version: "2.0.0" },
  { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: { elicitation: { form: {} } } },
);

try {
  await client.connect(transport);
  out("connected", { protocol: client.getNegotiatedProtocolVersion?.() ?? null, server: client.getServerVersion() });
  const tools = await client.listTools();
  out("tools/list", { tools: tools.tools.map((t) => t.name) });
  const echo = await client.callTool({ name: "echo", arguments: { message: "over the 2026 revision", region: "eu-west ☂" } });
  out("tools/call echo", { text: echo.content[0].text });
  if (tools.tools.some((t) => t.name === "confirm")) {
    // The server's question comes back as an input_required result; the SDK asks us and retries with the answer.
    client.setRequestHandler("elicitation/create", async (req) => ({ action: "accept", content: { ok: true } }));
    const c = await client.callTool({ name: "confirm", arguments: {} });
    out("tools/call confirm", { text: c.content[0].text });
  }
  if (opt("--denied")) {
    try {
      await client.callTool({ name: opt("--denied"), arguments: {} });
      out("denied", { refused: false });
    } catch (e) {
      out("denied", { refused: true, code: e.code ?? null, message: e.message });
    }
  }
  const abort = new AbortController();
  const seen = [];
  client.setNotificationHandler?.("notifications/message", (n) => seen.push(n.params.data));
  setTimeout(() => abort.abort(), 600);
  try {
    const r = await client.callTool({ name: "wait", arguments: { seconds: 8 } }, { signal: abort.signal });
    out("cancel", { aborted: false, text: r.content?.[0]?.text ?? null });
  } catch (e) {
    out("cancel", { aborted: true, message: String(e?.message ?? e) });
  }
  await client.close();
  out("done", {});
} catch (e) {
  out("error", { message: String(e?.message ?? e), code: e?.code ?? null });
  process.exitCode = 1;
}
