import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/server.js';
import { stdioAgent, type StdioAgent } from '../helpers/stdio.js';

/** Liveness across real processes (issue 13): no ghost sessions, parked claims, dead server processes. */

const agents: StdioAgent[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close().catch(() => {})));
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
    await a.call('plan_mega', { key: 'P-1', title: 'Parked', phases: [{ id: 1, name: 'one' }, { id: 2, name: 'two', deps: [1] }] });
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
