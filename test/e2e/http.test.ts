import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import { Store } from '../../src/core/store.js';
import { httpAgent, listeningUrl, request, type HttpAgent } from '../helpers/http.js';
import { tempDir } from '../helpers/server.js';
import { CLI } from '../helpers/stdio.js';

let dir: string;
let store: Store;
let srv: HttpServer | null;
const agents: HttpAgent[] = [];

beforeEach(async () => {
  dir = tempDir('factory-http-');
  store = await Store.open(path.join(dir, 'factory.db'), { leaseSeconds: 7200 });
  srv = null;
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  await srv?.close(1000);
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(o: { token?: string; ackToken?: string; bodyLimitBytes?: number; host?: string } = {}): Promise<HttpServer> {
  srv = await startHttp({ store, config: parseConfig({}), root: dir, port: 0, ...o });
  return srv;
}

const PLAN = { key: 'H-1', title: 'http', phases: Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}` })) };

describe('factory-mcp http', () => {
  it('serves many MCP sessions at once, each with its own instance id', async () => {
    const s = await start();
    const first = await httpAgent(s.url);
    agents.push(first);
    await first.call('plan_mega', PLAN);
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => httpAgent(s.url, { name: `agent-${i}` })));
    agents.push(...many);
    const claims = await Promise.all(many.map((a) => a.call<{ claimed: boolean; owner: string; phase: { id: number } }>('claim_phase', { mega: 'H-1' })));
    expect(claims.every((c) => c.claimed)).toBe(true);
    expect(new Set(claims.map((c) => c.owner)).size).toBe(10);
    expect(new Set(claims.map((c) => c.phase.id)).size).toBe(10);
    expect(s.sessions()).toBe(11);
  });

  it('a client that drops its connection resumes the same session and instance', async () => {
    const s = await start();
    const a = await httpAgent(s.url);
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ owner: string; token: string }>('claim_phase', { mega: 'H-1', phase: 1 });
    const sessionId = a.transport.sessionId as string;
    await a.transport.close(); // the connection drops; the server keeps the session
    const back = await httpAgent(s.url, { sessionId });
    agents.push(back);
    const again = await back.call<{ claimed: boolean; owner: string; token: string }>('claim_phase', { mega: 'H-1', phase: 1 });
    expect(again).toMatchObject({ claimed: true, owner: c.owner, token: c.token });
  });

  it('requires the bearer token when one is set: 401 without, 200 with', async () => {
    const s = await start({ token: 'sekret-token-123' });
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const headers = { host: new URL(s.url).host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    expect((await request(s.url, { method: 'POST', path: '/mcp', headers, body: init })).status).toBe(401);
    expect((await request(s.url, { path: '/api/board', headers: { ...headers, authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await request(s.url, { path: '/api/board', headers: { ...headers, authorization: 'Bearer sekret-token-123' } })).status).toBe(200);
    const a = await httpAgent(s.url, { token: 'sekret-token-123' });
    agents.push(a);
    expect((await a.call<{ megas: unknown[] }>('board')).megas).toEqual([]);
    const r = await request(s.url, { path: '/api/board', headers });
    expect(r.body).not.toContain('sekret');
  });

  it('refuses to bind off loopback without a token', async () => {
    await expect(start({ host: '0.0.0.0' })).rejects.toThrow(/FACTORY_HTTP_TOKEN/);
  });

  it('rejects foreign Host and Origin headers with 403 (DNS rebinding)', async () => {
    const s = await start();
    const host = new URL(s.url).host;
    expect((await request(s.url, { path: '/api/board', headers: { host: 'evil.example:80' } })).status).toBe(403);
    expect((await request(s.url, { path: '/api/board', headers: { host, origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request(s.url, { path: '/api/board', headers: { host, origin: s.url } })).status).toBe(200);
    expect((await request(s.url, { path: '/api/board', headers: { host: `localhost:${s.port}` } })).status).toBe(200);
  });

  it('answers 413 to an oversized body and keeps serving', async () => {
    const s = await start({ bodyLimitBytes: 64 * 1024 });
    const headers = { host: new URL(s.url).host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(200_000) } });
    const r = await request(s.url, { method: 'POST', path: '/mcp', headers, body: big });
    expect(r.status).toBe(413);
    expect(r.body).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect((await request(s.url, { path: '/api/board', headers })).status).toBe(200);
  });

  it('serves JSON for other dashboards', async () => {
    const s = await start();
    const a = await httpAgent(s.url, { name: 'planner' });
    agents.push(a);
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'H-1', phase: 1 });
    await a.call('complete_phase', { mega: 'H-1', phase: 1, token: c.token });
    const host = { host: new URL(s.url).host };
    const board = JSON.parse((await request(s.url, { path: '/api/board', headers: host })).body);
    expect(board.megas[0]).toMatchObject({ key: 'H-1', done: 1 });
    const sessions = JSON.parse((await request(s.url, { path: '/api/sessions', headers: host })).body);
    expect(sessions.sessions[0]).toMatchObject({ agent: 'planner', transport: 'http', status: 'live' });
    const ops = JSON.parse((await request(s.url, { path: '/api/operations?limit=2', headers: host })).body);
    expect(ops.operations.map((o: { kind: string }) => o.kind)).toEqual(['claim', 'complete']);
    const metrics = JSON.parse((await request(s.url, { path: '/api/metrics', headers: host })).body);
    expect(metrics.totals).toMatchObject({ phases: 12, done: 1 });
    expect(metrics.days.at(-1).phases).toBe(1);
    expect((await request(s.url, { path: '/api/nope', headers: host })).status).toBe(404);
  });

  it('the human gate: a rejected council is acknowledged only with the token, and its phase opens', async () => {
    const s = await start({ token: 'gate-token' });
    const a = await httpAgent(s.url, { token: 'gate-token' });
    agents.push(a);
    await a.call('plan_mega', { key: 'G-1', title: 'gate', phases: [{ id: 1, name: 'big one', points: 8 }] });
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 3, rationale: 'too risky', concerns: ['scope'], adjustments: [] }));
    const council = await a.call<{ verdict: string; council_id: number }>('run_council', { subject: { title: 'Big one', description: 'rewrite everything', mega: 'G-1', phase: 1 }, reviews });
    expect(council.verdict).toBe('reject');
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 1 })).toMatchObject({ claimed: false, reason: 'council_required' });
    const host = new URL(s.url).host;
    const body = JSON.stringify({ kind: 'council', ref: council.council_id, note: 'accepted the risk' });
    const headers = { host, 'content-type': 'application/json' };
    expect((await request(s.url, { method: 'POST', path: '/api/ack', headers, body })).status).toBe(401);
    expect((await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer nope' }, body })).status).toBe(401);
    const bad = await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer gate-token' }, body: JSON.stringify({ kind: 'council', ref: 999 }) });
    expect(bad.status).toBe(404);
    for (const ref of ['01', ' 1', '1.0', '0x1', -1]) {
      const odd = await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer gate-token' }, body: JSON.stringify({ kind: 'council', ref }) });
      expect(odd.status, String(ref)).toBe(400); // one spelling per id, so the gate finds what was acknowledged
    }
    const ok = await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer gate-token' }, body });
    expect(ok.status).toBe(200);
    expect(await a.call('claim_phase', { mega: 'G-1', phase: 1 })).toMatchObject({ claimed: true });
    const list = JSON.parse((await request(s.url, { path: '/api/councils', headers: { host, authorization: 'Bearer gate-token' } })).body);
    expect(list.councils[0]).toMatchObject({ verdict: 'reject', acknowledged: true });
    const metrics = JSON.parse((await request(s.url, { path: '/api/metrics', headers: { host, authorization: 'Bearer gate-token' } })).body);
    expect(metrics.days.at(-1)).toMatchObject({ councils: 1, councils_passed: 0 });
    expect(metrics.kpis).toMatchObject({ council_pass_rate: 0, councils: 1 });
  });

  it('an Ask change stored with a phase shows on /api/changes and is acknowledged with the token', async () => {
    const s = await start({ token: 'ask-token' });
    const a = await httpAgent(s.url, { token: 'ask-token' });
    agents.push(a);
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'H-1', phase: 1 });
    const r = await a.call<{ level: string; stored: boolean }>('classify_change', { files: [{ path: 'src/auth/session.ts', additions: 40, deletions: 2 }], mega: 'H-1', phase: 1, token: c.token });
    expect(r).toMatchObject({ level: 'ask', stored: true });
    const auth = { host: new URL(s.url).host, authorization: 'Bearer ask-token' };
    const list = JSON.parse((await request(s.url, { path: '/api/changes', headers: auth })).body);
    expect(list.changes[0]).toMatchObject({ mega: 'H-1', phase: '1', level: 'ask', acknowledged: false });
    const ack = await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'change', ref: list.changes[0].id }) });
    expect(ack.status).toBe(200);
    const after = JSON.parse((await request(s.url, { path: '/api/changes', headers: auth })).body);
    expect(after.changes[0].acknowledged).toBe(true);
    expect(JSON.parse((await request(s.url, { path: '/api/dod', headers: auth })).body)).toEqual({ runs: [] });
  });

  it("with FACTORY_ACK_TOKEN set, the agents' HTTP token cannot acknowledge; only the human token can", async () => {
    const s = await start({ token: 'agent-token', ackToken: 'human-token' });
    const a = await httpAgent(s.url, { token: 'agent-token' });
    agents.push(a);
    await a.call('plan_mega', { key: 'G-2', title: 'gate', phases: [{ id: 1, name: 'big one', points: 8 }] });
    const reviews = ['chucky', 'oss_killer', 'archi', 'saul'].map((persona) => ({ persona, score: 2, rationale: 'no', concerns: [], adjustments: [] }));
    const council = await a.call<{ council_id: number }>('run_council', { subject: { title: 'Big', description: 'x', mega: 'G-2', phase: 1 }, reviews });
    const headers = { host: new URL(s.url).host, 'content-type': 'application/json' };
    const body = JSON.stringify({ kind: 'council', ref: council.council_id });
    expect((await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer agent-token' }, body })).status).toBe(401);
    expect((await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, authorization: 'Bearer human-token' }, body })).status).toBe(401); // every request still needs the HTTP token...
    // ...so the human signs in to the dashboard with the HTTP token (a session cookie) and sends the ack token as the bearer
    const login = await request(s.url, { method: 'POST', path: '/login', headers: { host: headers.host, 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=agent-token' });
    const cookie = /^factory_session=[^;]+/.exec(String(login.headers['set-cookie']))?.[0] as string;
    const ok = await request(s.url, { method: 'POST', path: '/api/ack', headers: { ...headers, cookie, authorization: 'Bearer human-token' }, body });
    expect(ok.status).toBe(200);
  });

  it('acknowledging is refused when the server has no token', async () => {
    const s = await start();
    const r = await request(s.url, { method: 'POST', path: '/api/ack', headers: { host: new URL(s.url).host, 'content-type': 'application/json' }, body: '{"kind":"council","ref":1}' });
    expect(r.status).toBe(403);
    expect(r.body).toContain('FACTORY_HTTP_TOKEN');
  });

  it('pushes a change event on /events within a second of a tool call by another process', async () => {
    const s = await start();
    const events: string[] = [];
    const ac = new AbortController();
    const res = await fetch(`${s.url}/events`, { signal: ac.signal });
    const reader = res.body!.getReader();
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        events.push(new TextDecoder().decode(value));
      }
    })();
    // another process writes the same database file
    const other = Store.sqlite(new Database(path.join(dir, 'factory.db')), { leaseSeconds: 60 });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await other.phases.plan('t0001', PLAN, Date.now());
    while (!events.join('').includes('event: change') && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    expect(events.join('')).toContain('event: change');
    expect(Date.now() - t0).toBeLessThan(1000);
    ac.abort();
    await pump;
    await other.close();
  });

  it('the CLI serves until SIGTERM, then stops cleanly and closes its sessions (one holding nothing simply ends)', async () => {
    const db = path.join(dir, 'cli.db');
    const child = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', db], { env: { ...process.env, FACTORY_LOG: 'silent' } });
    const url = await listeningUrl(child);
    const a = await httpAgent(url);
    await a.call('plan_mega', PLAN);
    const inflight = Promise.all(
      Array.from({ length: 20 }, () =>
        a.call('board').then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const exit = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    expect(exit).toBe(0);
    const answers = await inflight;
    expect(answers.filter((x) => x === 'ok').length).toBeGreaterThan(0);
    const check = new Database(db, { readonly: true });
    const s = check.prepare("SELECT ended_at FROM sessions WHERE transport = 'http'").all() as { ended_at: number | null }[];
    check.close();
    expect(s.length).toBe(1);
    expect(s[0]!.ended_at).not.toBeNull();
  });
});
