import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbTarget, readRows, tempDir } from '../helpers/server.js';
import { rawStdio, stdioAgent, type StdioAgent } from '../helpers/stdio.js';

let dir: string;
let db: string;
let agents: StdioAgent[] = [];

beforeEach(async () => {
  dir = tempDir('factory-e2e-');
  db = await dbTarget(path.join(dir, 'factory.db'));
  agents = [];
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.close().catch(() => {})));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Claim {
  claimed: boolean;
  phase?: { mega: string; id: number };
  token?: string;
  owner?: string;
  remaining?: number;
}

/** Claims, completes with chaining, until nothing is left; returns every phase this agent completed. */
async function work(a: StdioAgent, mega: string): Promise<number[]> {
  const done: number[] = [];
  let c = await a.call<Claim>('claim_phase', { mega });
  for (;;) {
    if (!c.claimed) {
      if (c.remaining === 0) return done;
      await new Promise((r) => setTimeout(r, 2));
      c = await a.call<Claim>('claim_phase', { mega });
      continue;
    }
    const r = await a.call<{ completed: boolean; next?: Claim }>('complete_phase', { mega, phase: c.phase!.id, token: c.token, chain: true });
    expect(r.completed).toBe(true);
    done.push(c.phase!.id);
    c = r.next!;
  }
}

describe('real stdio processes on one database', () => {
  it('four processes race for 300 phases: each completed exactly once, no lost or double claim', async () => {
    agents = await Promise.all([0, 1, 2, 3].map((i) => stdioAgent(db, { name: `racer-${i}` })));
    // 300 phases: ten independent chains of 30, so claims contend and deps matter.
    const phases = Array.from({ length: 300 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}`, points: 1, deps: i % 30 === 0 ? [] : [i] }));
    await agents[0]!.call('plan_mega', { key: 'RACE-1', title: 'race', phases });
    const results = await Promise.all(agents.map((a) => work(a, 'RACE-1')));
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(phases.map((p) => p.id));
    expect(results.filter((r) => r.length > 0).length).toBeGreaterThan(1);

    const rows = await readRows<{ id: string; completed_by: string; owner: string | null }>(db, 'SELECT id, completed_by, owner FROM phases WHERE mega = ?', 'RACE-1');
    expect(rows).toHaveLength(300);
    expect(rows.every((r) => r.completed_by !== null && r.owner === null)).toBe(true);
    const claims = await readRows(db, "SELECT phase, count(*) AS n FROM operations WHERE kind = 'claim' GROUP BY phase HAVING count(*) > 1");
    expect(claims).toEqual([]); // no phase was ever claimed twice
    expect(await readRows(db, "SELECT count(*) AS n FROM operations WHERE kind = 'complete'")).toEqual([{ n: 300 }]);
  });

  it('an owner killed with SIGKILL leaves the database intact and its claims recoverable once stale', async () => {
    const victim = await stdioAgent(db, { name: 'victim' });
    const heir = await stdioAgent(db, { name: 'heir' });
    agents = [victim, heir];
    await victim.call('plan_mega', {
      key: 'KILL-1',
      title: 'kill',
      phases: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
        { id: 3, name: 'c', deps: [1, 2] },
      ],
    });
    const c1 = await victim.call<Claim>('claim_phase', { mega: 'KILL-1', phase: 1, lease_seconds: 1 });
    const c2 = await victim.call<Claim>('claim_phase', { mega: 'KILL-1', phase: 2, lease_seconds: 1 });
    process.kill(victim.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1200)); // past the 1 s lease

    if (!db.startsWith('postgres')) expect(await readRows(db, 'PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]); // PostgreSQL keeps its own pages
    const held = await readRows<{ id: string; owner: string }>(db, 'SELECT id, owner FROM phases WHERE owner IS NOT NULL ORDER BY id');
    expect(held.map((r) => r.id)).toEqual(['1', '2']);
    expect(new Set(held.map((r) => r.owner))).toEqual(new Set([c1.owner]));

    const r1 = await heir.call<Claim>('claim_phase', { mega: 'KILL-1', phase: 1 });
    const r2 = await heir.call<Claim>('claim_phase', { mega: 'KILL-1', phase: 2 });
    expect([r1.claimed, r2.claimed]).toEqual([true, true]);
    expect(r1.owner).not.toBe(c1.owner);
    expect(c2.token).not.toBe(r2.token);
    const releases = await readRows<{ phase: string; data: string }>(db, "SELECT phase, data FROM operations WHERE kind = 'release' ORDER BY seq");
    expect(releases.map((r) => r.phase)).toEqual(['1', '2']);
    expect(JSON.parse(releases[0]!.data)).toMatchObject({ reason: 'stale', previous_owner: c1.owner, owner_liveness: 'dead' });
  });

  it('malformed traffic gets errors and leaves the database unchanged', async () => {
    const seed = await stdioAgent(db);
    await seed.call('plan_mega', { key: 'M-1', title: 'm', phases: [{ id: 1, name: 'a' }] });
    await seed.close();
    // The session row and SESSION-START opened at initialize are allowed; nothing else may change.
    const dump = async () =>
      JSON.stringify([
        await Promise.all(['megas', 'phases', 'phase_deps'].map((t) => readRows(db, `SELECT * FROM ${t}`))),
        await readRows(db, "SELECT * FROM operations WHERE kind != 'session_start' ORDER BY seq"),
      ]);
    const raw = rawStdio(db);
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }));
    expect((await raw.next()).id).toBe(1);
    raw.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    const before = await dump();
    raw.send('this is not json');
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'claim_phase', arguments: { mega: 'M-1', phase: { nested: true } } } }));
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'plan_mega', arguments: { key: 'M-1', title: 't', phases: [{ id: 1, name: 'a', deps: [1] }] } } }));
    raw.send(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'complete_phase', arguments: { mega: 'M-1', phase: 1, token: 'x'.repeat(10_000) } } }));
    const results: Record<string, unknown>[] = [];
    while (results.length < 3) {
      const m = await raw.next(); // the garbage line gets no answer; the server must survive it
      if (typeof m.id === 'number' && m.id >= 2) results.push(m);
    }
    results.sort((a, b) => (a.id as number) - (b.id as number));
    expect(results.map((r) => (r.result as { isError?: boolean }).isError)).toEqual([true, true, true]);
    expect(JSON.stringify(results[1])).toContain('depends on itself');
    expect(JSON.stringify(results[2])).toContain('token: too long');
    expect(await dump()).toBe(before);
    await raw.close();
  });
});
