import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach } from 'vitest';
import { tempDir } from './server.js';
import { CLI } from './stdio.js';

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

/**
 * What a test of real processes started, shut down after each test (vitest `afterEach`): MCP
 * clients closed, server processes still running killed, temporary folders removed.
 */
export function useProcesses(): { clients: { close(): Promise<void> }[]; servers: ChildProcess[]; dir(prefix: string): string } {
  const clients: { close(): Promise<void> }[] = [];
  const servers: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    for (const c of servers.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    clients,
    servers,
    dir(prefix) {
      const d = tempDir(prefix);
      dirs.push(d);
      return d;
    },
  };
}

/**
 * A real `factory-mcp http` on a free port of 127.0.0.1 with `FACTORY_DB=db` (a file or a
 * postgres:// URL), started in `cwd` and added to `servers`; resolves once it listens.
 */
export async function factoryHttp(db: string, cwd: string, servers: ChildProcess[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'http', '--port', '0'], { cwd, env: { ...process.env, FACTORY_DB: db, FACTORY_LOG: 'silent' } });
  servers.push(child);
  return { child, url: await listeningUrl(child) };
}
