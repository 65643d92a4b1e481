import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dbTarget, tempDir } from '../helpers/server.js';
import { Store } from '../../src/core/store.js';
import { PhasesStore, toRef } from '../../src/phases/store.js';

// The SQL of the phase tables on its own (the rules on top are covered through the tools in
// phases.test.ts): the ready index across MEGAs, the unmet-deps counter, plan writes.
let dir: string;
let store: Store;
let rows: PhasesStore;
const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);

beforeEach(async () => {
  dir = tempDir();
  store = await Store.open(await dbTarget(path.join(dir, 'factory.db')), { leaseSeconds: 7200 });
  rows = new PhasesStore(store.sql);
  await rows.writePlan(
    {
      key: 'A-1',
      title: 'A',
      phases: [
        { id: 1, name: 'one' },
        { id: 2, name: 'two', deps: [1] },
        { id: 'x', name: 'ex', points: 3, tickets: ['T-1'] },
      ],
    },
    undefined,
    [],
    NOW,
  );
  await rows.writePlan(
    {
      key: 'B-1',
      title: 'B',
      source: 'src',
      phases: [
        { id: 1, name: 'b one' },
        { id: 2, name: 'b two' },
      ],
    },
    undefined,
    [],
    NOW + 1,
  );
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const keys = (rs: { mega: string; id: string }[]) => rs.map((r) => `${r.mega}/${r.id}`);

describe('PhasesStore', () => {
  it('lists ready phases in plan order, per MEGA or across MEGAs a page at a time', async () => {
    expect(keys(await rows.ready('A-1', -1, 0))).toEqual(['A-1/1', 'A-1/x']);
    expect(keys(await rows.ready(undefined, 10, 0))).toEqual(['A-1/1', 'A-1/x', 'B-1/1', 'B-1/2']);
    expect(keys(await rows.ready(undefined, 2, 1))).toEqual(['A-1/x', 'B-1/1']);
    expect(keys(await rows.ready(undefined, 1, 3))).toEqual(['B-1/2']);
    expect(await rows.ready(undefined, 5, 4)).toEqual([]);
  });

  it('claim-any reads one index in MEGA order (planned first, then key), whatever the number of MEGAs', async () => {
    // Same created_at: the key decides, as in the MEGA list; a re-plan keeps the MEGA's place.
    await rows.writePlan({ key: 'A-0', title: 'A zero', phases: [{ id: 1, name: 'zero' }] }, undefined, [], NOW + 1);
    await rows.writePlan(
      {
        key: 'A-1',
        title: 'A',
        phases: [
          { id: 'x', name: 'ex', points: 3 },
          { id: 1, name: 'one' },
          { id: 2, name: 'two', deps: [1] },
        ],
      },
      await rows.mega('A-1'),
      [],
      NOW + 9,
    );
    expect(keys(await rows.ready(undefined, 10, 0))).toEqual(['A-1/x', 'A-1/1', 'A-0/1', 'B-1/1', 'B-1/2']);
    expect((await rows.megas()).map((m) => m.key)).toEqual(['A-1', 'A-0', 'B-1']);
    const query = 'SELECT * FROM phases WHERE owner IS NULL AND completed_at IS NULL AND unmet = 0 ORDER BY mega_at, mega, ord LIMIT 1';
    if (store.sql.dialect === 'sqlite') {
      const plan = await store.sql.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${query}`).all();
      expect(plan.map((r) => r.detail).join('\n')).toMatch(/USING INDEX phases_ready_any/);
      expect(plan.map((r) => r.detail).join('\n')).not.toMatch(/TEMP B-TREE|megas/);
    } else {
      // A table this small is read whole unless told otherwise: the plan shows the index is usable and ordered.
      const plan = await store.sql.tx(async () => {
        await store.sql.exec('SET LOCAL enable_seqscan = off');
        return store.sql.prepare<[], { 'QUERY PLAN': string }>(`EXPLAIN ${query}`).all();
      });
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/Index Scan using phases_ready_any/);
      expect(text).not.toMatch(/Sort|megas/);
    }
  });

  it('pages MEGAs and phases by keyset, and counts a MEGA by status', async () => {
    await rows.writePlan({ key: 'A-0', title: 'A zero', phases: [{ id: 1, name: 'zero' }] }, undefined, [], NOW + 1);
    const all = (await rows.megasAfter(null, 10)).map((m) => m.key);
    expect(all).toEqual(['A-1', 'A-0', 'B-1']);
    const first = (await rows.megasAfter(null, 1))[0]!;
    expect((await rows.megasAfter({ at: first.created_at, key: first.key }, 1)).map((m) => m.key)).toEqual(['A-0']);
    expect((await rows.megasAfter({ at: NOW + 1, key: 'A-0' }, 5)).map((m) => m.key)).toEqual(['B-1']);
    expect(await rows.megasAfter({ at: NOW + 1, key: 'B-1' }, 5)).toEqual([]);
    expect(await rows.megaCount()).toBe(3);
    expect((await rows.phasesAfter('A-1', -1, 2)).map((r) => r.id)).toEqual(['1', '2']);
    expect((await rows.phasesAfter('A-1', 1, 2)).map((r) => r.id)).toEqual(['x']);
    await rows.setClaim('A-1', 'x', { owner: 't1000', token: 'fx1-a', epoch: 1, claimed_at: NOW, lease_seconds: 60, lease_expires_at: NOW + 60_000 });
    expect(await rows.counts('A-1')).toEqual({ total: 3, done: 0, claimed: 1, ready: 1, blocked: 1, points_total: 3, points_done: 0 });
    await rows.complete('A-1', '1', 't1000', NOW);
    expect(await rows.counts('A-1')).toEqual({ total: 3, done: 1, claimed: 1, ready: 1, blocked: 0, points_total: 3, points_done: 0 });
  });

  it('counts a completion off its dependents, so they become ready', async () => {
    expect(await rows.unmetDeps('A-1', '2')).toEqual([{ dep: '1', id_kind: 'int' }]);
    await rows.complete('A-1', '1', 't1000', NOW);
    expect(await rows.unmetDeps('A-1', '2')).toEqual([]);
    expect(keys(await rows.ready('A-1', -1, 0))).toEqual(['A-1/2', 'A-1/x']);
    expect(await rows.remaining('A-1')).toBe(2);
    expect(await rows.remaining(undefined)).toBe(4);
    expect(await rows.phase('A-1', '1')).toMatchObject({ completed_at: NOW, completed_by: 't1000', owner: null });
  });

  it('a claim writes only over the claim it was decided on: a stale epoch is refused and changes nothing', async () => {
    await rows.setClaim('B-1', '1', { owner: 't1000', token: 'fx1-a', epoch: 1, claimed_at: NOW, lease_seconds: 60, lease_expires_at: NOW + 60_000 });
    // another claim decided on the same (epoch 0) row, after the first got in
    await expect(rows.setClaim('B-1', '1', { owner: 't2000', token: 'fx1-b', epoch: 1, claimed_at: NOW, lease_seconds: 60, lease_expires_at: NOW + 60_000 })).rejects.toThrow(
      /the claim of B-1\/1 lost a race/,
    );
    expect(await rows.phase('B-1', '1')).toMatchObject({ owner: 't1000', token: 'fx1-a', epoch: 1 });
  });

  it('stores a claim, finds it by owner and by lease end, and clears it', async () => {
    await rows.setClaim('B-1', '2', { owner: 't1000', token: 'fx1-a', epoch: 1, claimed_at: NOW, lease_seconds: 60, lease_expires_at: NOW + 60_000 });
    expect(keys(await rows.claimsOf('t1000'))).toEqual(['B-1/2']);
    expect(await rows.owners(undefined)).toEqual([{ owner: 't1000', n: 1 }]);
    expect(await rows.owners('A-1')).toEqual([]);
    expect(await rows.expired(NOW + 59_999)).toEqual([]);
    await rows.touchLeases('t1000', NOW + 30_000);
    expect((await rows.phase('B-1', '2'))?.lease_expires_at).toBe(NOW + 90_000);
    expect(keys(await rows.expired(NOW + 90_000))).toEqual(['B-1/2']);
    expect(keys(await rows.ready('B-1', -1, 0))).toEqual(['B-1/1']);
    await rows.clearClaim('B-1', '2');
    expect(await rows.claimsOf('t1000')).toEqual([]);
    expect(await rows.phase('B-1', '2')).toMatchObject({ owner: null, token: null, epoch: 1 });
  });

  it('re-plans: drops removed phases, keeps the most points ever planned, maps rows to refs', async () => {
    const existing = await rows.mega('A-1');
    await rows.writePlan(
      {
        key: 'A-1',
        title: 'A again',
        phases: [
          { id: 'x', name: 'ex', points: 1 },
          { id: 1, name: 'one' },
        ],
      },
      existing,
      ['2'],
      NOW + 5,
    );
    expect(await rows.mega('A-1')).toEqual({ key: 'A-1', title: 'A again', source: null, created_at: NOW }); // a re-plan keeps its place in the MEGA order
    expect((await rows.phasesOf('A-1')).map(toRef)).toEqual([
      { mega: 'A-1', id: 'x', name: 'ex', points: 1, tickets: [], deps: [] },
      { mega: 'A-1', id: 1, name: 'one', points: null, tickets: [], deps: [] },
    ]);
    expect(await rows.maxPoints('A-1', 'x')).toBe(3);
    expect((await rows.megas()).map((m) => m.key)).toEqual(['A-1', 'B-1']);
  });
});
