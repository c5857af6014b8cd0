// An MCP server on the official TypeScript SDK v2 (@modelcontextprotocol/server), serving the
// 2026-07-28 revision (stateless; 2025-era requests get the SDK's stateless fallback) on
// 127.0.0.1. It reports what it saw on stdout, one JSON object per line, so a test can check what
// reached the upstream: {"event":"listening","port":N}, {"event":"call",...} per tools/call with
// the headers that arrived, {"event":"cancelled","tool":...} when a call's request was aborted.
//
// Usage: node v2-server.mjs [--oauth] [--keepalive-ms N]
//   --oauth: the server is a protected resource (RFC 9728) whose metadata names its own URL
//   (ORIGIN/mcp) as the resource: without a valid bearer token it answers 401 with
//   WWW-Authenticate; it is also its own authorization server (client credentials, client
//   "airlock-test" / secret "s3cret"), issuing tokens for the `resource` the client asked for
//   and reporting it ({"event":"token-issued","resource":...,"token":...}).
import http from "node:http";
import { randomBytes } from "node:crypto";
import { McpServer, createMcpHandler, fromJsonSchema, inputRequired, inputResponse } from "@modelcontextprotocol/server";
import { toNodeHandler } from "@modelcontextprotocol/node";

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const oauth = args.includes("--oauth");
const keepAliveMs = Number(opt("--keepalive-ms") ?? 200);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
let origin = "";

function factory() {
  const server = new McpServer({ name: "airlock-v2-peer", version: "2.0.0" });
  server.registerTool(
    "echo",
    {
      description: "Echoes the message; its region travels as an Mcp-Param header too",
      inputSchema: fromJsonSchema({
        type: "object",
        properties: {
          message: { type: "string" },
          region: { type: "string", "x-mcp-header": "Region" },
        },
        required: ["message"],
      }),
    },
    async ({ message, region }, ctx) => {
      const h = ctx.http?.req?.headers;
      say({
        event: "call",
        tool: "echo",
        region: region ?? null,
        headers: h
          ? Object.fromEntries([...h.entries()].filter(([k]) => k.startsWith("mcp-") || k === "authorization"))
          : {},
      });
      return { content: [{ type: "text", text: `echo: ${message}` }] };
    },
  );
  server.registerTool(
    "wait",
    {
      description: "Waits `seconds` (the response streams keep-alives meanwhile), unless the request is cancelled first",
      inputSchema: fromJsonSchema({ type: "object", properties: { seconds: { type: "number" } } }),
    },
    async ({ seconds }, ctx) => {
      const until = Date.now() + (seconds ?? 5) * 1000;
      let step = 0;
      while (Date.now() < until) {
        if (ctx.mcpReq.signal.aborted) {
          say({ event: "cancelled", tool: "wait", after: step });
          return { content: [{ type: "text", text: "cancelled" }], isError: true };
        }
        step++;
        await new Promise((r) => setTimeout(r, 100));
      }
      return { content: [{ type: "text", text: `waited ${seconds} s` }] };
    },
  );
  server.registerTool(
    "confirm",
    { description: "Asks the user to confirm (a multi-round-trip result: input_required, then the retried call with the answer)" },
    async (ctx) => {
      const answer = inputResponse(ctx.mcpReq.inputResponses, "confirm");
      if (answer.kind !== "elicit") {
        say({ event: "input-required", tool: "confirm" });
        return inputRequired({
          inputRequests: {
            confirm: inputRequired.elicit({
              message: "Proceed?",
              requestedSchema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
            }),
          },
        });
      }
      return { content: [{ type: "text", text: `confirmed: ${answer.action} ${JSON.stringify(answer.content ?? {})}` }] };
    },
  );
  return server;
}

const mcp = toNodeHandler(createMcpHandler(factory, { keepAliveMs, responseMode: "sse" }));
const tokens = new Map(); // token -> resource it was issued for

function json(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, origin);
  if (oauth) {
    const metadataPath = "/.well-known/oauth-protected-resource/mcp";
    if (url.pathname === metadataPath) {
      return json(res, 200, { resource: `${origin}/mcp`, authorization_servers: [origin], scopes_supported: ["mcp:tools"] });
    }
    if (url.pathname === "/.well-known/oauth-authorization-server") {
      return json(res, 200, {
        issuer: origin,
        authorization_endpoint: `${origin}/authorize`, // required by RFC 8414 clients; this server only grants client credentials
        token_endpoint: `${origin}/token`,
        grant_types_supported: ["client_credentials"],
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
        response_types_supported: ["token"],
      });
    }
    if (url.pathname === "/token" && req.method === "POST") {
      const form = new URLSearchParams(await readBody(req));
      const basic = Buffer.from("airlock-test:s3cret").toString("base64");
      if (req.headers.authorization !== `Basic ${basic}` || form.get("grant_type") !== "client_credentials") {
        return json(res, 401, { error: "invalid_client" });
      }
      if (!form.get("resource")) {
        return json(res, 400, { error: "invalid_target", error_description: "a resource indicator (RFC 8707) is required" });
      }
      const token = randomBytes(16).toString("hex");
      tokens.set(token, form.get("resource"));
      say({ event: "token-issued", resource: form.get("resource"), token });
      return json(res, 200, { access_token: token, token_type: "Bearer", expires_in: 3600, scope: "mcp:tools" });
    }
    if (url.pathname === "/mcp") {
      const auth = req.headers.authorization ?? "";
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : "";
      if (!tokens.has(token)) {
        say({ event: "unauthorized", had_authorization: auth !== "" });
        res.writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": `Bearer error="invalid_token", resource_metadata="${origin}${metadataPath}", scope="mcp:tools"`,
        });
        return res.end(JSON.stringify({ error: "invalid_token" }));
      }
    }
  }
  if (url.pathname !== "/mcp") {
    return json(res, 404, { error: "not found" });
  }
  return mcp(req, res);
});

httpServer.listen(0, "127.0.0.1", () => {
  origin = `http://127.0.0.1:${httpServer.address().port}`;
  say({ event: "listening", port: httpServer.address().port });
});
process.on("SIGTERM", () => process.exit(0));
