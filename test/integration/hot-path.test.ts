import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { failSessionRefresh, useHarness, snapshot, textOf } from '../helpers/server.js';

/**
 * The per-call work of a writing tool (issue 14, "a faster hot path"): the lease refresh rides in
 * the call's own write transaction, a refused call still writes nothing, and the gates are read
 * fresh on every call.
 */
const PLAN = {
  key: 'HP-1',
  title: 'Hot path',
  phases: [
    { id: 1, name: 'one' },
    { id: 2, name: 'two' },
    { id: 3, name: 'three' },
    { id: 4, name: 'four' },
  ],
};

const h = useHarness();

const leaseOf = async (phase: string) =>
  (await h.store.sql.prepare<[string], { lease_expires_at: number | null }>("SELECT lease_expires_at FROM phases WHERE mega = 'HP-1' AND id = ?").get(phase))?.lease_expires_at;
const seenOf = async (instance: string) => (await h.store.sessions.get(instance))?.last_seen_at;

describe('the lease refresh of a writing call', () => {
  it("is written with the claim: the caller's other leases and last_seen_at move to the claim's time", async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'HP-1', phase: 1, lease_seconds: 60 });
    h.clock.advance(5_000);
    const c = await a.call<{ claimed: boolean; phase: { id: number } }>('claim_phase', { mega: 'HP-1' });
    expect(c).toMatchObject({ claimed: true, phase: { id: 2 } });
    const instance = await a.server.ctx.session.ensureInstance();
    expect(await leaseOf('1')).toBe(h.clock.now + 60_000);
    expect(await seenOf(instance)).toBe(h.clock.now);
  });

  it('a refused claim writes nothing, though a lease refresh was due and a stale claim waited to be released', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'HP-1', phase: 1, lease_seconds: 5 });
    await b.call('claim_phase', { mega: 'HP-1', phase: 2, lease_seconds: 600 });
    h.clock.advance(6_000); // a's claim is stale; b's refresh is due
    const before = await snapshot(h.store);
    const r = await b.raw('claim_phase', { mega: 'NOPE-1' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/mega: unknown MEGA "NOPE-1" \(known: HP-1\)/);
    expect(await snapshot(h.store)).toBe(before);
    // The next accepted call writes both.
    expect(await b.call('claim_phase', { mega: 'HP-1', phase: 1 })).toMatchObject({ claimed: true });
    expect(await leaseOf('2')).toBe(h.clock.now + 600_000);
    expect((await h.store.operations.recent(5)).filter((o) => o.kind === 'release')).toHaveLength(1);
  });

  it('a refresh that fails inside the claim (a full disk) costs neither the claim nor its answer, and is logged', async () => {
    const warnings: string[] = [];
    const a = await h.connect({ logger: { info() {}, error() {}, warn: (m) => warnings.push(m) } });
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'HP-1', phase: 1 });
    const undo = await failSessionRefresh(h.store);
    h.clock.advance(2_000);
    const c = await a.call<{ claimed: boolean; owner: string; phase: { id: number } }>('claim_phase', { mega: 'HP-1' });
    await undo();
    expect(c).toMatchObject({ claimed: true, phase: { id: 2 } });
    expect((await h.store.phases.claimsOf(c.owner)).map((r) => r.id)).toEqual(['1', '2']);
    expect(warnings.join('\n')).toMatch(/lease refresh after claim_phase failed: disk full/);
    // The failed refresh is tried again by the next call, not skipped for a second.
    await a.call('log_operation', { kind: 'note', message: 'next' });
    expect(await seenOf(c.owner)).toBe(h.clock.now);
  });

  it('leaves a lease set less than a second ago as it is (nothing to write), and refreshes the older ones', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'HP-1', phase: 1, lease_seconds: 60 });
    h.clock.advance(1_500);
    await a.call('log_operation', { kind: 'note', message: 'refresh' });
    expect(await leaseOf('1')).toBe(h.clock.now + 60_000);
    h.clock.advance(300);
    await a.call('claim_phase', { mega: 'HP-1', phase: 2, lease_seconds: 60 });
    const second = h.clock.now + 60_000;
    h.clock.advance(900); // 1.2 s since the last refresh, 0.9 s since the second claim
    await a.call('log_operation', { kind: 'note', message: 'refresh again' });
    expect(await leaseOf('1')).toBe(h.clock.now + 60_000);
    expect(await leaseOf('2')).toBe(second);
  });

  it('a call that writes nothing else still refreshes, in a transaction of its own', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'HP-1', phase: 1, lease_seconds: 60 });
    h.clock.advance(3_000);
    await a.call('memory', { op: 'read' });
    expect(await leaseOf('1')).toBe(h.clock.now + 60_000);
  });
});

describe('governance read on every call', () => {
  it('a kill file written and removed by another process is obeyed on the very next call', async () => {
    const a = await h.connect({ env: {} });
    await a.call('plan_mega', PLAN);
    expect(await a.call('claim_phase', { mega: 'HP-1', phase: 1 })).toMatchObject({ claimed: true });
    const kill = path.join(h.dir, '.factory', 'KILL');
    const other = (code: string) => expect(spawnSync(process.execPath, ['-e', code, kill]).status).toBe(0);
    other("const fs = require('fs'); const f = process.argv[1]; fs.mkdirSync(require('path').dirname(f), { recursive: true }); fs.writeFileSync(f, 'stop\\n')");
    expect(await a.call('claim_phase', { mega: 'HP-1', phase: 2 })).toMatchObject({ claimed: false, reason: 'kill_switch' });
    other("require('fs').rmSync(process.argv[1])");
    expect(fs.existsSync(kill)).toBe(false);
    expect(await a.call('claim_phase', { mega: 'HP-1', phase: 2 })).toMatchObject({ claimed: true });
  });
});
