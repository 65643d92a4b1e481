/**
 * A minimal JSON-RPC-over-stdio MCP client for load generation: no schema validation on the
 * client side, so the figures measure the server processes rather than the load generator.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';

export class RawStdioClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, (msg: { result?: unknown; error?: { message: string } }) => void>();

  constructor(command: string, args: string[], env: Record<string, string>) {
    this.child = spawn(command, args, { env: { ...process.env, ...env } });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { id?: number; result?: unknown; error?: { message: string } };
        if (typeof msg.id === 'number') {
          this.pending.get(msg.id)?.(msg);
          this.pending.delete(msg.id);
        }
      }
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  request<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(m.error.message)) : resolve(m.result as T)));
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  async initialize(): Promise<void> {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  }

  async callTool<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<{ structuredContent: T; isError?: boolean }> {
    return this.request('tools/call', { name, arguments: args });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
    });
  }
}

/**
 * The same over Streamable HTTP: POST /mcp with the session id, the answer read from the JSON or
 * the SSE body, one kept-alive connection; no schema validation on the client side.
 */
export class RawHttpClient {
  private session: string | undefined;
  private nextId = 1;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly endpoint: URL;

  constructor(base: string) {
    this.endpoint = new URL('/mcp', base);
  }

  private post(body: unknown): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    if (this.session) Object.assign(headers, { 'mcp-session-id': this.session, 'mcp-protocol-version': '2025-06-18' });
    return new Promise((resolve, reject) => {
      const req = http.request(this.endpoint, { method: 'POST', agent: this.agent, headers }, (res) => {
        this.session ??= res.headers['mcp-session-id'] as string | undefined;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  async request<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    const r = await this.post({ jsonrpc: '2.0', id, method, params });
    // An SSE body carries the answer in its `data:` lines; a JSON body is the answer.
    const payloads = r.text.startsWith('{') ? [r.text] : r.text.split('\n').flatMap((l) => (l.startsWith('data:') ? [l.slice(5).trim()] : []));
    for (const p of payloads) {
      const msg = JSON.parse(p) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== id) continue;
      if (msg.error) throw new Error(msg.error.message);
      return msg.result as T;
    }
    throw new Error(`${method}: no answer (HTTP ${r.status}): ${r.text.slice(0, 200)}`);
  }

  async initialize(): Promise<void> {
    await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    await this.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  async callTool<T = Record<string, unknown>>(name: string, args: Record<string, unknown>): Promise<{ structuredContent: T; isError?: boolean }> {
    return this.request('tools/call', { name, arguments: args });
  }

  async close(): Promise<void> {
    if (this.session) {
      await new Promise<void>((resolve) => {
        const req = http.request(this.endpoint, { method: 'DELETE', agent: this.agent, headers: { 'mcp-session-id': this.session!, 'mcp-protocol-version': '2025-06-18' } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', () => resolve());
        req.end();
      });
    }
    this.agent.destroy();
  }
}
