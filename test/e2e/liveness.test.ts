import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { httpAgent, listeningUrl, type HttpAgent } from '../helpers/http.js';
import { CLI, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/** Liveness across real processes (issue 13): no ghost sessions, parked claims, dead server processes. */

const agents: (StdioAgent | HttpAgent)[] = [];
const dirs: string[] = [];
const servers: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
  for (const c of servers.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dirFor(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

async function agent(db: string, opts: { name?: string; env?: Record<string, string>; cwd?: string; args?: string[] } = {}): Promise<StdioAgent> {
  const a = await stdioAgent(db, { cwd: path.dirname(db), ...opts });
  agents.push(a);
  return a;
}

function rows(db: string, sql: string): Record<string, unknown>[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

describe('sessions exist only once a client needs an identity', () => {
  it('20 health-check connections (initialize, tools/list, a resource, board, disconnect) leave no session and no interrupted report', async () => {
    const dir = dirFor('factory-live-');
    const db = path.join(dir, 'factory.db');
    const w = await agent(db);
    await w.call('plan_mega', { key: 'H-1', title: 'Health', phases: [{ id: 1, name: 'one' }] });
    await w.call('session_end', {});
    await w.close();
    const before = rows(db, 'SELECT instance FROM sessions');
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          const a = await stdioAgent(db, { cwd: dir, name: 'claude-code-health' });
          await a.client.listTools();
          await a.client.readResource({ uri: 'factory://board' });
          await a.call('board', {});
          await a.close();
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(rows(db, 'SELECT instance FROM sessions')).toEqual(before);
    expect(rows(db, "SELECT seq FROM operations WHERE kind IN ('session_start', 'session_end')")).toHaveLength(2);
    const next = await agent(db);
    const s = await next.call<{ crashed: unknown[]; crashed_total: number }>('session_start', { agent: 'next' });
    expect(s).toMatchObject({ crashed: [], crashed_total: 0 });
  });

  it('a session that holds nothing and leaves without session_end is not reported as interrupted', async () => {
    const dir = dirFor('factory-live-');
    const db = path.join(dir, 'factory.db');
    const a = await agent(db);
    await a.call('session_start', { agent: 'brief' });
    await a.call('memory', { op: 'append', section: 'status', text: 'looked around' });
    await a.close();
    await new Promise((r) => setTimeout(r, 200));
    const b = await agent(db);
    expect(await b.call('session_start', {})).toMatchObject({ crashed: [], crashed_total: 0 });
  });

  it('outside a git repository the server creates no database until a write, then names it in the answer and on stderr', async () => {
    const dir = dirFor('factory-nogit-');
    const a = await stdioAgent('', { cwd: dir, env: { FACTORY_DB: '', FACTORY_LOG: 'info' } });
    agents.push(a);
    let stderr = '';
    a.transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await a.client.listTools();
    await a.client.readResource({ uri: 'factory://board' });
    expect(await a.call('board', {})).toMatchObject({ megas: [] });
    expect(fs.readdirSync(dir)).toEqual([]);

    const file = path.join(fs.realpathSync(dir), '.factory', 'factory.db');
    const r = await a.raw('plan_mega', { key: 'N-1', title: 'No git', phases: [{ id: 1, name: 'one' }] });
    expect(r.isError).toBeFalsy();
    const text = (r.content as { type: string; text: string }[]).map((c) => c.text).join('\n');
    expect(text).toContain(`created its database at ${file}`);
    expect(fs.existsSync(file)).toBe(true);
    expect(await a.call('board', {})).toMatchObject({ megas: [{ key: 'N-1' }] });
    await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain(file);
    expect(rows(file, 'SELECT key FROM megas')).toEqual([{ key: 'N-1' }]);
  });
});

describe('claims kept at session_end are parked', () => {
  it('session_end keeping a claim, then session_start {resume} in a new process adopts it with a fresh token; the old token is refused', async () => {
    const dir = dirFor('factory-park-');
    const db = path.join(dir, 'factory.db');
    const a = await agent(db, { name: 'first' });
    const sa = await a.call<{ instance: string }>('session_start', { agent: 'first' });
    await a.call('plan_mega', {
      key: 'P-1',
      title: 'Parked',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two', deps: [1] },
      ],
    });
    const claim = await a.call<{ token: string }>('claim_phase', { mega: 'P-1', phase: 1 });
    const end = await a.call<{ kept: unknown[]; message: string }>('session_end', { summary: 'half done' });
    expect(end.kept).toEqual([{ mega: 'P-1', id: 1 }]);
    expect(end.message).toContain(`session_start {"resume":"${sa.instance}"}`);
    await a.close();

    // Another agent is told who parked it and how to adopt it, both for the phase and for "anything".
    const b = await agent(db, { name: 'second' });
    const named = await b.call<{ claimed: boolean; reason: string; owner: string; message: string }>('claim_phase', { mega: 'P-1', phase: 1 });
    expect(named).toMatchObject({ claimed: false, reason: 'parked', owner: sa.instance });
    expect(named.message).toContain(`session_start {"resume":"${sa.instance}"}`);
    const any = await b.call<{ claimed: boolean; reason: string; owner: string; message: string }>('claim_phase', {});
    expect(any).toMatchObject({ claimed: false, reason: 'no_ready_phase', owner: sa.instance });
    expect(any.message).toContain(`${sa.instance} (parked, 1 phase)`);
    expect(any.message).toContain(`session_start {"resume":"${sa.instance}"}`);
    const board = await b.call<{ megas: { phases: { owner: string | null; owner_state?: string; resume?: string }[] }[] }>('board', {});
    expect(board.megas[0]?.phases[0]).toMatchObject({ owner: sa.instance, owner_state: 'parked', resume: `session_start {"resume":"${sa.instance}"}` });
    const text = await b.raw('board', {});
    expect(JSON.stringify(text.content)).toContain('parked: session_start');

    const s = await b.call<{ instance: string; crashed: { instance: string; why: string }[] }>('session_start', { agent: 'second' });
    expect(s.crashed).toEqual([expect.objectContaining({ instance: sa.instance, why: 'parked' })]);
    const r = await b.call<{ resumed: { from: string; phases: { id: number; token: string }[] }[] }>('session_start', { resume: sa.instance });
    expect(r.resumed).toHaveLength(1);
    const fresh = r.resumed[0]!.phases[0]!.token;
    expect(fresh).not.toBe(claim.token);
    expect(await b.call('heartbeat', { mega: 'P-1', phase: 1, token: claim.token })).toMatchObject({ ok: false, reason: 'stale_token' });
    expect(await b.call('heartbeat', { mega: 'P-1', phase: 1, token: fresh })).toMatchObject({ ok: true });
    const after = await b.call<{ megas: { phases: { owner: string | null; owner_state?: string }[] }[] }>('board', {});
    expect(after.megas[0]?.phases[0]).toEqual(expect.objectContaining({ owner: s.instance }));
    expect(after.megas[0]?.phases[0]?.owner_state).toBeUndefined();
    // Adopted: reported no more, and a second resume of it is refused by name.
    expect(await b.call('session_start', {})).toMatchObject({ crashed: [], crashed_total: 0 });
  });

  it('resume: true adopts parked claims too', async () => {
    const dir = dirFor('factory-park-');
    const db = path.join(dir, 'factory.db');
    const a = await agent(db);
    await a.call('plan_mega', { key: 'P-2', title: 'Parked', phases: [{ id: 'x', name: 'x' }] });
    await a.call('claim_phase', {});
    await a.call('session_end', {});
    await a.close();
    const b = await agent(db);
    const r = await b.call<{ resumed: { phases: { id: string }[] }[] }>('session_start', { resume: true });
    expect(r.resumed.flatMap((x) => x.phases.map((p) => p.id))).toEqual(['x']);
  });
});

/** A real `factory-mcp http` process on the database; resolves with its URL once it listens. */
async function httpServer(db: string, cwd: string): Promise<{ child: ChildProcess; url: string }> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, 'http', '--port', '0', '--db', db], { cwd, env: { ...process.env, FACTORY_LOG: 'silent' } });
  servers.push(child);
  const url = await listeningUrl(child);
  return { child, url };
}

type Start = { instance: string; crashed: { instance: string; why: string; phases: { id: number }[] }[]; resumed: { from: string; phases: { id: number; token: string }[] }[] };

describe('server processes register and heartbeat; their sessions die with them', () => {
  it('two HTTP and two stdio servers on one database: SIGKILL one HTTP server holding claims, and the next session_start anywhere reports it and resume adopts its claims, none double-owned', async () => {
    const dir = dirFor('factory-servers-');
    const db = path.join(dir, 'factory.db');
    fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ sessions: { heartbeat_seconds: 0.2, dead_after_heartbeats: 3 } }));
    const s1 = await agent(db, { name: 's1' });
    await s1.call('plan_mega', { key: 'S-1', title: 'Servers', phases: [1, 2, 3, 4].map((id) => ({ id, name: `p${id}` })) });
    const h1 = await httpServer(db, dir);
    const h2 = await httpServer(db, dir);
    const a = await httpAgent(h1.url, { name: 'doomed' });
    agents.push(a);
    const b = await httpAgent(h2.url, { name: 'survivor' });
    agents.push(b);
    const sa = await a.call<Start>('session_start', { agent: 'doomed' });
    const t1 = await a.call<{ token: string }>('claim_phase', { mega: 'S-1', phase: 1 });
    await a.call('claim_phase', { mega: 'S-1', phase: 2 });
    const sb = await b.call<Start>('session_start', { agent: 'survivor' });
    await b.call('claim_phase', { mega: 'S-1', phase: 3 });
    const s1s = await s1.call<Start>('session_start', {});
    await s1.call('claim_phase', { mega: 'S-1', phase: 4 });
    const s2 = await agent(db, { name: 's2' });

    // Every server process is registered: two HTTP (at start) and the stdio one that wrote.
    const running = rows(db, 'SELECT transport, pid FROM servers WHERE stopped_at IS NULL ORDER BY transport');
    expect(running.map((r) => r.transport)).toEqual(['http', 'http', 'stdio']);
    expect(running.map((r) => r.pid)).toContain(h1.child.pid);

    // Each heartbeats on its interval (0.2 s here): one cheap UPDATE of heartbeat_at.
    const beat = () => rows(db, `SELECT heartbeat_at FROM servers WHERE pid = ${h2.child.pid}`)[0]?.heartbeat_at as number;
    const first = beat();
    await new Promise((res) => setTimeout(res, 700));
    expect(beat()).toBeGreaterThan(first);

    // While h1 runs, nobody reports its session.
    expect((await s2.call<Start>('session_start', {})).crashed).toEqual([]);

    const exited = new Promise((r) => h1.child.once('exit', r));
    h1.child.kill('SIGKILL');
    await exited;
    // The very next session_start, on another HTTP server and on a stdio server, reports it (no lease to wait out).
    const fromB = await b.call<Start>('session_start', {});
    expect(fromB.crashed).toEqual([expect.objectContaining({ instance: sa.instance, why: 'process_gone', phases: [expect.objectContaining({ id: 1 }), expect.objectContaining({ id: 2 })] })]);
    const claimed = await s1.call<{ claimed: boolean; reason: string; owner: string; message: string }>('claim_phase', { mega: 'S-1', phase: 1 });
    expect(claimed).toMatchObject({ claimed: false, reason: 'interrupted', owner: sa.instance });
    expect(claimed.message).toContain(`session_start {"resume":"${sa.instance}"}`);

    const r = await s2.call<Start>('session_start', { resume: sa.instance });
    expect(r.resumed[0]?.phases.map((p) => p.id)).toEqual([1, 2]);
    expect(r.resumed[0]?.phases[0]?.token).not.toBe(t1.token);
    const again = await s1.raw('session_start', { resume: sa.instance });
    expect(again.isError).toBe(true);
    const owners = rows(db, "SELECT id, owner FROM phases WHERE mega = 'S-1' ORDER BY ord");
    const s2i = (await s2.call<Start>('session_start', {})).instance;
    expect(owners).toEqual([
      { id: '1', owner: s2i },
      { id: '2', owner: s2i },
      { id: '3', owner: sb.instance },
      { id: '4', owner: s1s.instance },
    ]);
    // The survivors are not reported, and a clean stop marks a server stopped.
    expect((await s1.call<Start>('session_start', {})).crashed).toEqual([]);
    const h2exit = new Promise((res) => h2.child.once('exit', res));
    await b.close();
    h2.child.kill('SIGTERM');
    await h2exit;
    expect(rows(db, `SELECT stopped_at IS NOT NULL AS stopped FROM servers WHERE pid = ${h2.child.pid}`)).toEqual([{ stopped: 1 }]);
  });

  it('another host whose heartbeat is older than the configured multiple is gone; a same-host pid running with another start time is gone (pid reuse)', async () => {
    const dir = dirFor('factory-servers-');
    const db = path.join(dir, 'factory.db');
    fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ sessions: { heartbeat_seconds: 1, dead_after_heartbeats: 3 } }));
    const w = await agent(db);
    await w.call('plan_mega', { key: 'R-1', title: 'Remote', phases: [1, 2, 3].map((id) => ({ id, name: `p${id}` })) });
    await w.call('session_end', {});
    await w.close();
    const now = Date.now();
    const myStart = (() => {
      const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
      const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
      const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
      return btime * 1000 + ticks * 10;
    })();
    const d = new Database(db);
    const server = d.prepare('INSERT INTO servers (id, host, pid, pid_start, transport, started_at, heartbeat_at, heartbeat_ms) VALUES (?,?,?,?,?,?,?,?)');
    server.run('s-old-remote', 'elsewhere.example', 4242, null, 'http', now - 3_600_000, now - 60_000, 10_000); // 60 s > 3 × 10 s
    server.run('s-fresh-remote', 'elsewhere.example', 4243, null, 'http', now - 3_600_000, now - 5_000, 10_000); // 5 s < 30 s
    server.run('s-reused-pid', os.hostname(), process.pid, myStart - 120_000, 'stdio', now - 3_600_000, now, 10_000); // this pid, another start
    server.run('s-this-pid', os.hostname(), process.pid, myStart, 'stdio', now - 3_600_000, now - 60_000, 10_000); // the same process: alive
    const session = d.prepare("INSERT INTO sessions (instance, agent, transport, host, pid, started_at, last_seen_at, server_id) VALUES (?, 'x', ?, ?, ?, ?, ?, ?)");
    session.run('t7001', 'http', 'elsewhere.example', null, now - 1000, now - 1000, 's-old-remote');
    session.run('t7002', 'http', 'elsewhere.example', null, now - 1000, now - 1000, 's-fresh-remote');
    session.run('t7003', 'stdio', os.hostname(), process.pid, now - 1000, now - 1000, 's-reused-pid');
    session.run('t7004', 'stdio', os.hostname(), process.pid, now - 1000, now - 1000, 's-this-pid');
    const claim = d.prepare("UPDATE phases SET owner = ?, token = ?, epoch = 1, claimed_at = ?, lease_seconds = 7200, lease_expires_at = ? WHERE mega = 'R-1' AND id = ?");
    claim.run('t7001', 'fx1-old', now, now + 7_200_000, '1');
    claim.run('t7002', 'fx1-fresh', now, now + 7_200_000, '2');
    claim.run('t7003', 'fx1-reused', now, now + 7_200_000, '3');
    d.close();

    const s = await agent(db);
    const start = await s.call<Start>('session_start', {});
    expect(start.crashed.map((c) => [c.instance, c.why]).sort()).toEqual([
      ['t7001', 'process_gone'],
      ['t7003', 'process_gone'],
    ]);
    const r = await s.call<Start>('session_start', { resume: true });
    expect(r.resumed.flatMap((x) => x.phases.map((p) => p.id)).sort()).toEqual([1, 3]);
    expect(await s.call('claim_phase', { mega: 'R-1', phase: 2 })).toMatchObject({ claimed: false, reason: 'already_claimed', owner: 't7002' });
  });
});
