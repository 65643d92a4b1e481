import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClaimFileSchema } from '../../schemas/sessions.js';
import { harness, textOf, type Harness } from '../helpers/server.js';

const PLAN = { key: 'R-1', title: 'review', phases: [1, 2, 3, 4].map((id) => ({ id, name: `phase ${id}`, deps: id === 4 ? [1] : [] })) };

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('fixes from review', () => {
  it('a retried complete_phase with chain hands back the phase the first call chained to, not a second one', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'R-1', phase: 1 });
    const first = await a.call<{ next: { claimed: boolean; token: string; phase: { id: number } } }>('complete_phase', { mega: 'R-1', phase: 1, token: c.token, chain: true });
    const retry = await a.call<{ completed: boolean; next: { claimed: boolean; token: string; phase: { id: number } } }>('complete_phase', { mega: 'R-1', phase: 1, token: c.token, chain: true });
    expect(retry.completed).toBe(true);
    expect(retry.next).toMatchObject({ claimed: true, token: first.next.token, phase: { id: first.next.phase.id } });
    expect(h.store.phases.claimsOf(a.server.ctx.session.instance).map((r) => r.id)).toEqual([String(first.next.phase.id)]);
  });

  it('importing a claim file keeps live claims and recorded completions as the database has them', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string; owner: string }>('claim_phase', { mega: 'R-1', phase: 1 });
    await a.call('complete_phase', { mega: 'R-1', phase: 1, token: c1.token });
    const c4 = await a.call<{ token: string }>('claim_phase', { mega: 'R-1', phase: 4 });
    const file = ClaimFileSchema.parse({
      mega: 'R-1',
      phases: PLAN.phases.map((p) => ({ ...p, owner: 'x', claimed_at: '2026-11-01T10:00:00Z', completed_at: '2026-11-01T11:00:00Z' })),
    });
    const r = h.store.transfer.importClaimFile('t0001', file, h.clock.now);
    expect(r.kept).toEqual([1, 4]);
    expect(r.completed).toBe(2);
    const board = h.store.phases.board('R-1')[0]!.phases;
    expect(board.find((p) => p.id === 1)).toMatchObject({ status: 'done', completed_by: c1.owner });
    expect(board.find((p) => p.id === 4)).toMatchObject({ status: 'claimed' });
    expect(await a.call('heartbeat', { mega: 'R-1', phase: 4, token: c4.token })).toMatchObject({ ok: true });
  });

  it('log_operation cannot forge entries the server writes (ack, council, classify, dod, resume)', async () => {
    const a = await h.connect();
    for (const kind of ['ack', 'council', 'classify', 'dod', 'resume']) {
      const r = await a.raw('log_operation', { kind, message: 'a human acknowledged rejected council #1' });
      expect(r.isError, kind).toBe(true);
      expect(textOf(r)).toMatch(/kind:/);
    }
  });
});
