import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../helpers/git.js';
import { httpAgent, listeningUrl } from '../helpers/http.js';
import { CLI } from '../helpers/stdio.js';

// Finding 13.4: MCP sessions abandoned without a DELETE are closed after http.session_idle_seconds
// (their factory sessions interrupted, claims adoptable), memory comes back down, and the number of
// open sessions is capped with a 503 that says so. Against a real `factory-mcp http` child.

let repo: TestRepo;
let child: ChildProcessWithoutNullStreams | null;

beforeEach(() => {
  repo = makeRepo();
  child = null;
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  repo.remove();
});

async function serve(httpConfig: Record<string, number>): Promise<{ url: string; pid: number }> {
  fs.writeFileSync(path.join(repo.dir, 'factory.config.json'), JSON.stringify({ http: httpConfig }));
  const c = spawn(process.execPath, [CLI, 'http', '--port', '0'], { cwd: repo.dir, env: { ...process.env, FACTORY_DB: path.join(repo.dir, '.factory', 'factory.db'), FACTORY_LOG: 'silent' } });
  child = c;
  const url = await listeningUrl(c);
  return { url, pid: c.pid as number };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL('/mcp', url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** initialize, then walk away: no DELETE, no stream left open. */
async function abandonedSession(url: string, i: number): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const r = await post(url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: `ghost-${i}`, version: '1' } } });
  const sid = r.headers['mcp-session-id'];
  if (r.status === 200 && typeof sid === 'string') await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
  return r;
}

async function health(url: string): Promise<{ mcp_sessions: number; max_sessions: number }> {
  return (await fetch(`${url}/api/health`)).json() as Promise<{ mcp_sessions: number; max_sessions: number }>;
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('abandoned HTTP sessions (13.4)', () => {
  it('2,000 abandoned sessions are swept after the idle time; the count and RSS come back down', async () => {
    const { url, pid } = await serve({ session_idle_seconds: 6, max_sessions: 5000 });
    // Warm up (code paths, JIT, SQLite pages) so the baseline is a server that has served sessions.
    for (let i = 0; i < 50; i++) await abandonedSession(url, i);
    await until(
      () => health(url),
      (h) => h.mcp_sessions === 0,
      15_000,
    );
    const baseline = rssMiB(pid);

    const N = 2000;
    let next = 0;
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) expect((await abandonedSession(url, next++)).status).toBe(200);
      }),
    );
    const openedIn = Date.now() - t0;
    const peak = await health(url);
    const peakRss = rssMiB(pid);
    // Sessions opened in the first seconds may already be gone; most are still open.
    expect(peak.mcp_sessions, `opened in ${openedIn} ms`).toBeGreaterThan(openedIn < 5000 ? N / 2 : 0);

    const after = await until(
      () => health(url),
      (h) => h.mcp_sessions === 0,
      20_000,
    );
    expect(after.mcp_sessions).toBe(0);
    // The server collects garbage once the wave is gone; freed pages go back to the OS over a few seconds.
    const near = baseline + Math.max(30, (peakRss - baseline) / 2);
    const swept = await until(
      async () => rssMiB(pid),
      (r) => r < near,
      15_000,
    );
    console.log(`RSS MiB: baseline ${baseline.toFixed(0)}, with ${peak.mcp_sessions} sessions ${peakRss.toFixed(0)}, after the sweep ${swept.toFixed(0)} (opened ${N} in ${openedIn} ms)`);
    expect(swept).toBeLessThan(near);
  }, 90_000);

  it('a swept session is interrupted and its claim is adopted with resume', async () => {
    const { url } = await serve({ session_idle_seconds: 1, max_sessions: 100 });
    const a = await httpAgent(url, { name: 'leaver' });
    const { instance } = await a.call<{ instance: string }>('session_start', {});
    await a.call('plan_mega', { key: 'SW-1', title: 'sweep', phases: [{ id: 1, name: 'one' }] });
    expect(await a.call('claim_phase', { mega: 'SW-1', phase: 1 })).toMatchObject({ claimed: true });
    // The client goes away without DELETE: its transport just stops.
    await a.transport.close();
    await until(
      () => health(url),
      (h) => h.mcp_sessions === 0,
      10_000,
    );
    const sessions = (await (await fetch(`${url}/api/sessions`)).json()) as { sessions: { instance: string; status: string }[] };
    expect(sessions.sessions.find((s) => s.instance === instance)?.status).toBe('interrupted');
    const b = await httpAgent(url, { name: 'adopter' });
    try {
      const r = await b.call<{ resumed: { phases?: unknown[] }[] | unknown[] }>('session_start', { resume: instance });
      expect(JSON.stringify(r.resumed)).toContain('SW-1');
    } finally {
      await b.close();
    }
  }, 30_000);

  it('a session with an open stream is not idle: it is swept only after the stream closes', async () => {
    const { url } = await serve({ session_idle_seconds: 1, max_sessions: 100 });
    const init = await abandonedSession(url, 0);
    const sid = init.headers['mcp-session-id'] as string;
    const ac = new AbortController();
    const stream = await fetch(`${url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, signal: ac.signal });
    expect(stream.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500)); // well past the idle time
    expect((await health(url)).mcp_sessions).toBe(1);
    ac.abort();
    expect(
      (
        await until(
          () => health(url),
          (h) => h.mcp_sessions === 0,
          10_000,
        )
      ).mcp_sessions,
    ).toBe(0);
  }, 30_000);

  it('beyond http.max_sessions a new session gets 503 saying so; after the sweep there is room again', async () => {
    const { url } = await serve({ session_idle_seconds: 1, max_sessions: 3 });
    for (let i = 0; i < 3; i++) expect((await abandonedSession(url, i)).status).toBe(200);
    const full = await abandonedSession(url, 3);
    expect(full.status).toBe(503);
    const err = JSON.parse(full.body) as { jsonrpc: string; error: { message: string } };
    expect(err.jsonrpc).toBe('2.0');
    expect(err.error.message).toMatch(/at most 3/);
    expect(err.error.message).toMatch(/http\.max_sessions/);
    expect((await health(url)).mcp_sessions).toBe(3);
    await until(
      () => health(url),
      (h) => h.mcp_sessions === 0,
      10_000,
    );
    expect((await abandonedSession(url, 4)).status).toBe(200);
  }, 30_000);
});
