import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, snapshot, textOf, type Harness } from '../helpers/server.js';

const PLAN = {
  key: 'CAB-1290',
  title: 'Gateway rework',
  phases: [
    { id: 1, name: 'API + Gateway', points: 5, tickets: ['CAB-1350'], deps: [] },
    { id: 2, name: 'Storage', points: 3, deps: [] },
    { id: 'ui', name: 'UI', points: 2, deps: [1, 2] },
  ],
};

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('plan_mega and claim_phase', () => {
  it('plans a MEGA and reports the ready phases', async () => {
    const a = await h.connect();
    const r = await a.call<{ mega: string; phases: number; created: boolean; ready: unknown[] }>('plan_mega', PLAN);
    expect(r).toMatchObject({ mega: 'CAB-1290', phases: 3, created: true, ready: [1, 2] });
  });

  it('first claim wins; the loser is told who owns it', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const ca = await a.call<{ claimed: boolean; token: string; owner: string; phase: { id: number; tickets: string[] } }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const cb = await b.call<{ claimed: boolean; reason: string; owner: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(ca.claimed).toBe(true);
    expect(ca.phase).toMatchObject({ id: 1, tickets: ['CAB-1350'] });
    expect(ca.token).toMatch(/^fx1-/);
    expect(cb).toMatchObject({ claimed: false, reason: 'already_claimed', owner: ca.owner });
  });

  it('refuses a phase whose deps are not done, naming them', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const r = await a.call<{ claimed: boolean; reason: string; unmet_deps: unknown[] }>('claim_phase', { mega: 'CAB-1290', phase: 'ui' });
    expect(r).toMatchObject({ claimed: false, reason: 'deps_unmet', unmet_deps: [1, 2] });
  });

  it('complete_phase with chain claims the next ready phase in the same call', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const c2 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 2 });
    await a.call('complete_phase', { mega: 'CAB-1290', phase: 1, token: c1.token });
    const done = await a.call<{ completed: boolean; next: { claimed: boolean; phase: { id: unknown } } }>('complete_phase', { mega: 'CAB-1290', phase: 2, token: c2.token, chain: true });
    expect(done.completed).toBe(true);
    expect(done.next).toMatchObject({ claimed: true, phase: { id: 'ui' } });
  });

  it('reports remaining 0 when everything is done', async () => {
    const a = await h.connect();
    await a.call('plan_mega', { key: 'X-1', title: 'one', phases: [{ id: 1, name: 'only' }] });
    const c = await a.call<{ token: string }>('claim_phase', {});
    const d = await a.call<{ next: { claimed: boolean; reason: string; remaining: number } }>('complete_phase', { mega: 'X-1', phase: 1, token: c.token, chain: true });
    expect(d.next).toMatchObject({ claimed: false, reason: 'no_ready_phase', remaining: 0 });
  });

  it('rejects a cycle naming the phases, and writes nothing', async () => {
    const a = await h.connect();
    const before = snapshot(h.store);
    const r = await a.raw('plan_mega', { key: 'C-1', title: 'cyclic', phases: [{ id: 1, name: 'a', deps: [3] }, { id: 2, name: 'b', deps: [1] }, { id: 3, name: 'c', deps: [2] }] });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/phases\[\d\]\.deps: dependency cycle: .*"1".*"3"|cycle/);
    expect(textOf(r)).toContain('cycle');
    expect(snapshot(h.store)).toBe(before);
  });

  it('stale tokens are refused after the claim moved on', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const ca = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1, lease_seconds: 1 });
    h.clock.advance(2000);
    const cb = await b.call<{ claimed: boolean; token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(cb.claimed).toBe(true);
    const late = await a.call<{ completed: boolean; reason: string; owner: string }>('complete_phase', { mega: 'CAB-1290', phase: 1, token: ca.token });
    expect(late).toMatchObject({ completed: false, reason: 'stale_token' });
  });
});
