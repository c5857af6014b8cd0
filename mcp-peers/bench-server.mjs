// The MCP server the tunnel benchmark calls, on the official TypeScript SDK: `echo` (a small
// round trip) and `payload` (a text result of the size asked for, for throughput).
// Usage: node bench-server.mjs stdio | node bench-server.mjs http PORT  (binds 127.0.0.1 only)
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

function benchServer() {
  const server = new McpServer({ name: "airlock-bench", version: "1.0.0" });
  server.registerTool("echo", { description: "Echoes the message", inputSchema: { message: z.string() } },
    async ({ message }) => ({ content: [{ type: "text", text: message }] }));
  server.registerTool("payload", { description: "A text of `bytes` characters", inputSchema: { bytes: z.number().int().min(0).max(64 << 20) } },
    async ({ bytes }) => ({ content: [{ type: "text", text: "x".repeat(bytes) }] }));
  return server;
}

const [mode, port] = process.argv.slice(2);
if (mode === "stdio") {
  await benchServer().connect(new StdioServerTransport());
} else if (mode === "http" && port) {
  const sessions = new Map();
  createServer(async (req, res) => {
    try {
      const id = req.headers["mcp-session-id"];
      let transport = id ? sessions.get(id) : undefined;
      let body;
      if (req.method === "POST") {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      }
      if (!transport) {
        if (id || req.method !== "POST" || !isInitializeRequest(body)) {
          res.writeHead(id ? 404 : 400, { "content-type": "application/json" })
            .end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "no such session" } }));
          return;
        }
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => sessions.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
        await benchServer().connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    }
  }).listen(Number(port), "127.0.0.1");
} else {
  console.error("usage: node bench-server.mjs stdio | node bench-server.mjs http PORT");
  process.exit(2);
}
