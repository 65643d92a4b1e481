import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (req: RecordedRequest, params: Record<string, string>) => FakeResponse | Promise<FakeResponse>;

/** A tiny JSON HTTP server on 127.0.0.1 with an ephemeral port that records every request. */
export class FakeHttpServer {
  readonly requests: RecordedRequest[] = [];
  private readonly routes: { method: string; pattern: RegExp; keys: string[]; handler: Handler }[] = [];
  private server: http.Server | null = null;
  url = '';

  /** `path` like `/repos/:owner/:repo/pulls`; the first matching route answers. */
  route(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    const pattern = new RegExp(`^${path.replace(/:([a-z_]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)'))}$`);
    this.routes.push({ method, pattern, keys, handler });
    return this;
  }

  /** Listens on an ephemeral port, or on `port` (the same one again after `stop`: a service coming back). */
  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* keep text */
    }
    const rec: RecordedRequest = { method: req.method ?? 'GET', path: decodeURIComponent(u.pathname), query: Object.fromEntries(u.searchParams), headers: req.headers, body };
    this.requests.push(rec);
    let out: FakeResponse = { status: 404, body: { message: 'Not Found' } };
    for (const r of this.routes) {
      const m = r.method === rec.method ? r.pattern.exec(rec.path) : null;
      if (!m) continue;
      const params = Object.fromEntries(r.keys.map((k, i) => [k, m[i + 1] as string]));
      try {
        out = await r.handler(rec, params);
      } catch (e) {
        out = { status: (e as { status?: number }).status ?? 500, body: { message: (e as Error).message } }; // a handler may throw GitHub's answer
      }
      break;
    }
    res.writeHead(out.status, { 'content-type': 'application/json; charset=utf-8', ...out.headers });
    res.end(out.body === undefined ? '' : JSON.stringify(out.body));
  }
}
