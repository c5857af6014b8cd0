// An MCP server on the official TypeScript SDK 1.x, revision 2025-11-25 with sessions and an
// event store, so a client whose GET/SSE stream breaks resumes it with Last-Event-ID. The tool
// `drop-stream` sends one notification on the session's GET stream, closes that stream (the server-side break of SEP-1699) and then
// sends three notifications while no stream is open; they are stored, and replayed when the
// client comes back. Reports on stdout, one JSON object per line: {"event":"listening","port":N},
// {"event":"get","last_event_id":...} for each GET that opens a stream.
// Usage: node v1-resumable-server.mjs
import http from "node:http";
import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";

// The SDK's example store takes a stream id from the event id's text up to the first '_', which
// the standalone GET stream's id ("_GET_stream") starts with: it never replays that stream. This
// store keeps the stream beside each event instead.
class EventStore {
  events = []; // {id, streamId, message}, in order
  async storeEvent(streamId, message) {
    const id = `e${this.events.length + 1}`;
    this.events.push({ id, streamId, message });
    return id;
  }
  async getStreamIdForEventId(id) {
    return this.events.find((e) => e.id === id)?.streamId;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const at = this.events.findIndex((e) => e.id === lastEventId);
    if (at < 0) return "";
    const streamId = this.events[at].streamId;
    for (const e of this.events.slice(at + 1)) {
      if (e.streamId === streamId && Object.keys(e.message).length > 0) await send(e.id, e.message);
    }
    return streamId;
  }
}

const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const transports = new Map();

function newSession() {
  const server = new McpServer({ name: "airlock-v1-resumable", version: "1.0.0" }, { capabilities: { logging: {} } });
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new EventStore(),
    retryInterval: 100,
    onsessioninitialized: (id) => transports.set(id, transport),
  });
  server.registerTool("drop-stream", { description: "Breaks the GET stream, then notifies three times" }, async () => {
    // One notification on the open stream first: it gives the client an event id to resume from.
    await server.server.notification({ method: "notifications/message", params: { level: "info", data: "before" } });
    setTimeout(async () => {
      transport.closeStandaloneSSEStream();
      for (let i = 1; i <= 3; i++) {
        await server.server.notification({ method: "notifications/message", params: { level: "info", data: `missed ${i}` } });
      }
    }, 50);
    return { content: [{ type: "text", text: "dropping" }] };
  });
  server.connect(transport);
  return transport;
}

const httpServer = http.createServer(async (req, res) => {
  if (new URL(req.url, "http://x").pathname !== "/mcp") {
    res.writeHead(404).end();
    return;
  }
  const id = req.headers["mcp-session-id"];
  if (req.method === "GET") say({ event: "get", last_event_id: req.headers["last-event-id"] ?? null });
  let transport = id ? transports.get(id) : undefined;
  if (!transport) {
    if (id) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
      return;
    }
    transport = newSession();
  }
  await transport.handleRequest(req, res);
});
httpServer.listen(0, "127.0.0.1", () => say({ event: "listening", port: httpServer.address().port }));
process.on("SIGTERM", () => process.exit(0));
