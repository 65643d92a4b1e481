/** The HTTP floor: a Streamable HTTP MCP server with one no-op tool, one SDK session per client. Prints its URL. */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { buildNoopServer } from './noop.js';

const sessions = new Map<string, StreamableHTTPServerTransport>();
const server = http.createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  const sid = req.headers['mcp-session-id'] as string | undefined;
  let t = sid ? sessions.get(sid) : undefined;
  if (!t) {
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, transport) });
    await buildNoopServer().connect(transport);
    t = transport;
  }
  await t.handleRequest(req, res, body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`MCP at http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp\n`);
});
process.on('SIGTERM', () => process.exit(0));
