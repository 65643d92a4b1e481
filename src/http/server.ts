import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../schemas/config.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { createServer, type FactoryServer } from '../mcp/server.js';
import type { Store } from '../core/store.js';
import type { ChangeWatcher } from '../core/watch.js';
import { BoundedEventStore } from './events.js';
import { apiRoutes } from './api.js';
import { retryStatuses } from '../governance/statuses.js';
import { deliverTickets } from '../pipeline/lifecycle.js';
import { holdSecrets } from '../core/secrets.js';
import { serveAsset } from './assets.js';
import { bearer, Logins, postedToken, sameSecret } from './auth.js';
import { collectGarbage } from './gc.js';

export interface HttpOptions {
  store: Store;
  config: Config;
  root: string;
  host?: string;
  port?: number;
  /** FACTORY_HTTP_TOKEN: required off loopback; when set, every request must carry it. */
  token?: string | undefined;
  /**
   * FACTORY_ACK_TOKEN: when set, only it acknowledges Ask changes and rejected councils (the human
   * gate), so agents that hold the HTTP token for /mcp cannot acknowledge their own work.
   */
  ackToken?: string | undefined;
  /** Extra Host values to accept (a reverse proxy's name), beside loopback and the bind address. */
  allowedHosts?: string[];
  bodyLimitBytes?: number;
  logger?: Logger;
  clock?: () => number;
  readOnly?: boolean;
  /** How long a dashboard sign-in (its cookie) lasts; default 12 h. */
  loginTtlSeconds?: number;
  /** The server's environment (each session's ctx.env); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface HttpServer {
  url: string;
  port: number;
  sessions(): number;
  watcher: ChangeWatcher;
  /** Stops accepting, lets in-flight calls finish (up to `graceMs`), closes sessions. */
  close(graceMs?: number): Promise<void>;
}

const TOO_LARGE = Symbol('too large');
const INVALID_JSON = Symbol('invalid json');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export class HttpConfigError extends Error {}

interface McpSession {
  transport: StreamableHTTPServerTransport;
  factory: FactoryServer;
  /** Requests and streams of this session still open. */
  open: number;
  /** performance.now() when the last of them ended. */
  idleSince: number;
}

/**
 * `factory-mcp http`: the MCP tools over Streamable HTTP at /mcp (one factory session per MCP
 * session), the dashboard at /, JSON at /api/*, live updates at /events. Loopback by default;
 * any other bind needs a token. Host and Origin are checked against an allow-list (DNS
 * rebinding), bodies are capped, and errors never carry stack traces.
 */
export async function startHttp(opts: HttpOptions): Promise<HttpServer> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? silentLogger;
  const token = opts.token || undefined;
  holdSecrets({ FACTORY_HTTP_TOKEN: token, FACTORY_ACK_TOKEN: opts.ackToken }); // redacted wherever text is logged or stored
  if (!LOOPBACK.has(host) && !token) {
    throw new HttpConfigError(`binding to ${host} exposes the factory beyond this machine: set FACTORY_HTTP_TOKEN (every request must then send "Authorization: Bearer <token>")`);
  }
  const bodyLimit = opts.bodyLimitBytes ?? 1024 * 1024;
  const sessions = new Map<string, McpSession>();
  const watcher = opts.store.watch;
  const sseClients = new Set<http.ServerResponse>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | null = null;

  const server = http.createServer((req, res) => {
    const tracked = req.method === 'POST' || req.method === 'DELETE';
    if (tracked) {
      inFlight++;
      res.once('close', () => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
    }
    handle(req, res).catch((e) => {
      logger.error(`http ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  server.requestTimeout = 0; // SSE streams are long-lived
  server.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 7420, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `http://${hostForUrl}:${port}`;
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${hostForUrl}:${port}`, ...(opts.allowedHosts ?? [])]);

  // Abandoned sessions (no DELETE, no request, no open stream) are closed after http.session_idle_seconds:
  // transport.onclose runs FactoryServer.cleanup(), so the factory session is interrupted and its
  // claims stay adoptable with resume.
  const idleMs = opts.config.http.session_idle_seconds * 1000;
  const maxSessions = opts.config.http.max_sessions;
  const sweeper = setInterval(sweep, Math.min(Math.max(idleMs / 4, 250), 30_000));
  sweeper.unref();
  let freed = 0;
  function sweep(): void {
    const now = performance.now();
    const idle = [...sessions.values()].filter((s) => s.open === 0 && now - s.idleSince >= idleMs);
    for (const s of idle) void s.transport.close().catch(() => {});
    freed += idle.length;
    // Once a wave of abandoned sessions is gone, give their memory back now: an idle server
    // allocates nothing, so V8 alone would keep the RSS of the peak until traffic returns.
    if (idle.length === 0 && freed >= 100) {
      freed = 0;
      collectGarbage();
    }
  }
  /** Counts `res` as open on the session until it ends. */
  function track(s: McpSession, res: http.ServerResponse): void {
    s.open++;
    res.once('close', () => {
      s.open--;
      s.idleSince = performance.now();
    });
  }

  // The human gate checks the enrolled ack token (src/governance/acks.ts): the first server started with
  // FACTORY_ACK_TOKEN enrolls it; a server started with another token, or with none once one is
  // enrolled (then only the agents' HTTP token would be left), acknowledges nothing.
  const ackCheck = opts.ackToken ? await (opts.readOnly ? opts.store.acks.check(opts.ackToken) : opts.store.acks.enroll(opts.ackToken, (opts.clock ?? Date.now)())) : null;
  // Whether an ack token is enrolled: read until one is (`factory-mcp ack --enroll` may enroll one while this server runs).
  let enrolled = false;
  if (ackCheck === 'mismatch') logger.warn('FACTORY_ACK_TOKEN is not the ack token enrolled in this database: this server acknowledges nothing (docs/security.md)');
  const ackRefusal = async (): Promise<string | undefined> => {
    if (opts.readOnly) return 'this server is read-only (--read-only): it acknowledges nothing; use a server started without --read-only, or factory-mcp ack';
    if (ackCheck === 'mismatch') return 'this server was started with a FACTORY_ACK_TOKEN that is not the one enrolled in the database: it acknowledges nothing';
    if (!opts.ackToken && (enrolled ||= (await opts.store.acks.enrolledAt()) !== null))
      return 'an ack token is enrolled in this database: acknowledging needs a server started with it (FACTORY_ACK_TOKEN); the HTTP token cannot';
    return undefined;
  };
  const logins = new Logins(opts.clock ?? Date.now, opts.loginTtlSeconds);
  const ctx = { store: opts.store, config: opts.config, root: opts.root, clock: opts.clock ?? Date.now, env: opts.env ?? process.env };
  const api = apiRoutes(ctx, { health: () => ({ mcp_sessions: sessions.size, max_sessions: maxSessions, session_idle_seconds: idleMs / 1000 }) });
  // Commit statuses GitHub and ticket updates Linear did not take are retried every minute while the server runs.
  const retryOutbox = () => void Promise.all([retryStatuses(ctx), deliverTickets(ctx)]).catch(() => undefined);
  const statusRetry = opts.readOnly ? null : setInterval(retryOutbox, 60_000).unref();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('x-content-type-options', 'nosniff');
    if (closing) return sendJson(res, 503, { error: 'shutting down' });
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    const hostHeader = req.headers.host ?? '';
    if (!allowedHosts.has(hostHeader)) return sendJson(res, 403, { error: `host ${JSON.stringify(hostHeader)} is not allowed` });
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, allowedHosts)) return sendJson(res, 403, { error: `origin ${JSON.stringify(origin)} is not allowed` });

    const u = new URL(req.url ?? '/', 'http://localhost');
    if (u.pathname === '/login') return handleLogin(req, res);
    if (token && !bearer(req, token) && !logins.valid(req)) {
      // The page itself sends a browser to the sign-in form; its other files carry no data.
      if (req.method === 'GET' && (u.pathname === '/' || u.pathname === '/index.html')) return redirect(res, '/login');
      if (req.method === 'GET' && serveAsset(u.pathname, res)) return;
      res.setHeader('www-authenticate', 'Bearer realm="factory-mcp"');
      return sendJson(res, 401, { error: 'missing or invalid bearer token (Authorization: Bearer <FACTORY_HTTP_TOKEN>)' });
    }

    if (u.pathname === '/mcp') return handleMcp(req, res);
    if (u.pathname === '/events' && req.method === 'GET') return handleEvents(req, res);
    if (u.pathname === '/api' || u.pathname.startsWith('/api/')) {
      let body: unknown;
      if (req.method === 'POST') {
        const read = await readBody(req, bodyLimit);
        if (read === TOO_LARGE) return sendJson(res, 413, { error: `request body over ${bodyLimit} bytes` });
        if (read === INVALID_JSON) return sendJson(res, 400, { error: 'request body is not valid JSON' });
        body = read;
      }
      const gate = opts.ackToken || token;
      const r = await api(req.method ?? 'GET', u, body, {
        authorized: gate !== undefined && bearer(req, gate),
        tokenConfigured: gate !== undefined,
        refusal: u.pathname === '/api/ack' || u.pathname === '/api/governance' ? await ackRefusal() : undefined,
      });
      if (r.status < 400 && req.method === 'POST') watcher.poke();
      return sendJson(res, r.status, r.body);
    }
    if (req.method === 'GET' && serveAsset(u.pathname, res)) return;
    sendJson(res, 404, { error: `no route for ${req.method} ${u.pathname}` });
  }

  /** GET: the sign-in form. POST: the token (form field, JSON or bearer header) buys an expiring session cookie. */
  async function handleLogin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!token) return redirect(res, '/');
    if (req.method === 'GET') return void serveAsset('/login.html', res);
    if (req.method !== 'POST') return sendJson(res, 405, { error: '/login answers GET and POST' });
    const text = await readText(req, bodyLimit);
    const given = bearer(req, token) ? token : text === TOO_LARGE ? null : postedToken(text);
    if (given === null || !sameSecret(given, token)) return void serveAsset('/login.html', res, 401);
    res.writeHead(303, { location: '/', 'set-cookie': logins.open(), 'cache-control': 'no-store' });
    res.end();
  }

  async function handleMcp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req, bodyLimit);
      if (read === TOO_LARGE) return sendJson(res, 413, jsonRpcError(`request body over ${bodyLimit} bytes`));
      if (read === INVALID_JSON) return sendJson(res, 400, jsonRpcError('request body is not valid JSON', -32700));
      body = read;
    }
    if (sessionId) {
      const s = sessions.get(sessionId);
      if (!s) return sendJson(res, 404, jsonRpcError(`unknown or expired MCP session ${sessionId}; initialize a new one`));
      track(s, res);
      await s.transport.handleRequest(req, res, body);
      if (req.method === 'POST') watcher.poke();
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJson(res, 400, jsonRpcError('no mcp-session-id header: the first request must be initialize'));
    }
    if (sessions.size >= maxSessions) {
      res.setHeader('retry-after', String(Math.ceil(idleMs / 1000)));
      return sendJson(
        res,
        503,
        jsonRpcError(
          `too many open MCP sessions: this server holds at most ${maxSessions} (http.max_sessions); end finished sessions with DELETE /mcp, or retry once idle ones are closed (after http.session_idle_seconds = ${idleMs / 1000})`,
        ),
      );
    }
    const factory = createServer({
      store: opts.store,
      config: opts.config,
      root: opts.root,
      logger,
      clock: opts.clock,
      env: opts.env,
      session: { transport: 'http', pid: null },
      readOnly: opts.readOnly,
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => {
        const s: McpSession = { transport, factory, open: 0, idleSince: performance.now() };
        sessions.set(id, s);
        track(s, res);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
      void factory.cleanup().catch((e: Error) => logger.warn(`closing an MCP session: ${e.message}`));
    };
    await factory.server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function handleEvents(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ seq: await opts.store.operations.lastSeq() })}\n\n`);
    sseClients.add(res);
    const off = watcher.on((seq) => res.write(`event: change\ndata: ${JSON.stringify({ seq })}\n\n`));
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    ping.unref();
    req.once('close', () => {
      off();
      clearInterval(ping);
      sseClients.delete(res);
    });
  }

  return {
    url,
    port,
    watcher,
    sessions: () => sessions.size,
    async close(graceMs = 10_000) {
      if (closing) return;
      closing = true;
      if (statusRetry) clearInterval(statusRetry);
      clearInterval(sweeper);
      server.close();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, graceMs).unref())]);
      }
      for (const c of sseClients) c.end();
      await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
      server.closeAllConnections();
    },
  };
}

function originAllowed(origin: string, allowedHosts: Set<string>): boolean {
  try {
    const o = new URL(origin);
    return (o.protocol === 'http:' || o.protocol === 'https:') && allowedHosts.has(o.host);
  } catch {
    return false;
  }
}

function redirect(res: http.ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store' });
  res.end();
}

async function readBody(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const text = await readText(req, limit);
  if (text === TOO_LARGE) return TOO_LARGE;
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return INVALID_JSON;
  }
}

async function readText(req: http.IncomingMessage, limit: number): Promise<string | typeof TOO_LARGE> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return TOO_LARGE;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.resume();
      return TOO_LARGE;
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function jsonRpcError(message: string, code = -32000) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}
