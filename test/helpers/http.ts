import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface HttpAgent {
  client: Client;
  transport: StreamableHTTPClientTransport;
  call<T = Record<string, unknown>>(name: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** An SDK client over Streamable HTTP, optionally resuming an existing MCP session. */
export async function httpAgent(url: string, opts: { token?: string; sessionId?: string; name?: string } = {}): Promise<HttpAgent> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', url), {
    sessionId: opts.sessionId,
    requestInit: opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : undefined,
  });
  const client = new Client({ name: opts.name ?? 'http-agent', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    transport,
    async call<T>(name: string, args: Record<string, unknown> = {}) {
      const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
      if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
      return r.structuredContent as T;
    },
    close: () => client.close(),
  };
}

/** A raw HTTP request with full control of headers (Host, Origin) and body size. */
export function request(
  url: string,
  opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(opts.path ?? '/', url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end(opts.body);
  });
}

/** The base URL a `factory-mcp http` child prints once it listens (rejects if it exits first). */
export function listeningUrl(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /MCP at (http:\/\/[^/\s]+)\/mcp/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`factory-mcp http exited ${code}`)));
  });
}
