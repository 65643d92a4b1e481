import { describe, expect, it } from 'vitest';
import { useHarness, snapshot, textOf } from '../helpers/server.js';

const PLAN = {
  key: 'CAB-1290',
  title: 'Gateway rework',
  phases: [
    { id: 1, name: 'API + Gateway', points: 5, tickets: ['CAB-1350'], deps: [] },
    { id: 2, name: 'Storage', points: 3, deps: [] },
    { id: 'ui', name: 'UI', points: 2, deps: [1, 2] },
  ],
};

const h = useHarness();

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
    const before = await snapshot(h.store);
    const r = await a.raw('plan_mega', {
      key: 'C-1',
      title: 'cyclic',
      phases: [
        { id: 1, name: 'a', deps: [3] },
        { id: 2, name: 'b', deps: [1] },
        { id: 3, name: 'c', deps: [2] },
      ],
    });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/phases\[\d\]\.deps: dependency cycle: .*"1".*"3"|cycle/);
    expect(textOf(r)).toContain('cycle');
    expect(await snapshot(h.store)).toBe(before);
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

describe('complete_phase retried', () => {
  const PLAN = { key: 'R-1', title: 'review', phases: [1, 2, 3, 4].map((id) => ({ id, name: `phase ${id}`, deps: id === 4 ? [1] : [] })) };

  it('a retried complete_phase with chain hands back the phase the first call chained to, not a second one', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'R-1', phase: 1 });
    const first = await a.call<{ next: { claimed: boolean; token: string; phase: { id: number } } }>('complete_phase', { mega: 'R-1', phase: 1, token: c.token, chain: true });
    const retry = await a.call<{ completed: boolean; next: { claimed: boolean; token: string; phase: { id: number } } }>('complete_phase', { mega: 'R-1', phase: 1, token: c.token, chain: true });
    expect(retry.completed).toBe(true);
    expect(retry.next).toMatchObject({ claimed: true, token: first.next.token, phase: { id: first.next.phase.id } });
    expect((await h.store.phases.claimsOf(await a.server.ctx.session.ensureInstance())).map((r) => r.id)).toEqual([String(first.next.phase.id)]);
  });
});

describe('bad input is an error naming the field, and changes nothing', () => {
  const cases: [string, string, Record<string, unknown>, RegExp][] = [
    ['wrong type', 'claim_phase', { mega: 'CAB-1290', phase: true }, /phase:/],
    ['unknown field', 'claim_phase', { mega: 'CAB-1290', phase_id: 1 }, /unknown field "phase_id"/],
    ['phase without mega', 'claim_phase', { phase: 1 }, /mega: required when phase is given/],
    ['unknown MEGA', 'claim_phase', { mega: 'NOPE-1' }, /mega: unknown MEGA "NOPE-1" \(known: CAB-1290\)/],
    ['unknown phase', 'claim_phase', { mega: 'CAB-1290', phase: 9 }, /phase: unknown phase 9 in MEGA CAB-1290 \(known: 1, 2, ui\)/],
    ['huge string', 'plan_mega', { key: 'BIG-1', title: 'x'.repeat(100_000), phases: [{ id: 1, name: 'a' }] }, /title: too long \(at most 200 characters\)/],
    [
      'duplicate ids',
      'plan_mega',
      {
        key: 'DUP-1',
        title: 't',
        phases: [
          { id: 1, name: 'a' },
          { id: '1', name: 'b' },
        ],
      },
      /phases\[1\]\.id: duplicate phase id "1"/,
    ],
    ['unknown dep', 'plan_mega', { key: 'DEP-1', title: 't', phases: [{ id: 1, name: 'a', deps: [5] }] }, /phases\[0\]\.deps\[0\]: phase "1" depends on unknown phase "5"/],
    ['negative lease', 'claim_phase', { mega: 'CAB-1290', lease_seconds: 0 }, /lease_seconds:/],
    ['bad key', 'plan_mega', { key: 'has space', title: 't', phases: [{ id: 1, name: 'a' }] }, /key: a MEGA key is letters/],
    ['empty phases', 'plan_mega', { key: 'E-1', title: 't', phases: [] }, /phases:/],
    ['missing token', 'complete_phase', { mega: 'CAB-1290', phase: 1 }, /token:/],
    ['unknown phase on complete', 'complete_phase', { mega: 'CAB-1290', phase: 'zz', token: 'fx1-00' }, /phase: unknown phase "zz"/],
  ];
  for (const [label, tool, args, message] of cases) {
    it(label, async () => {
      const a = await h.connect();
      await a.call('plan_mega', PLAN);
      const before = await snapshot(h.store);
      const r = await a.raw(tool, args);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(message);
      expect(await snapshot(h.store)).toBe(before);
    });
  }

  it('an unknown tool is a protocol error listing the tools', async () => {
    const a = await h.connect();
    await expect(a.raw('claim', {})).rejects.toThrow(/unknown tool "claim" \(available: .*claim_phase/);
  });
});

describe('re-planning', () => {
  it('keeps claims and completions, updates names and deps, drops open phases', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const c2 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 2 });
    await a.call('complete_phase', { mega: 'CAB-1290', phase: 2, token: c2.token });
    const r = await a.call<{ created: boolean; removed: unknown[] }>('plan_mega', {
      ...PLAN,
      phases: [
        { id: 1, name: 'API + Gateway v2', points: 8, deps: [] },
        { id: 2, name: 'Storage', points: 3, deps: [] },
        { id: 'docs', name: 'Docs', deps: [2] },
      ],
    });
    expect(r).toMatchObject({ created: false, removed: ['ui'] });
    const b = await a.call<{ megas: { phases: { id: unknown; status: string; name: string; owner: string | null }[] }[] }>('board', { mega: 'CAB-1290' });
    expect(b.megas[0]!.phases.map((p) => [p.id, p.status, p.name])).toEqual([
      [1, 'claimed', 'API + Gateway v2'],
      [2, 'done', 'Storage'],
      ['docs', 'ready', 'Docs'],
    ]);
    // the old token still completes the claimed phase
    expect((await a.call<{ completed: boolean }>('complete_phase', { mega: 'CAB-1290', phase: 1, token: c1.token })).completed).toBe(true);
  });

  it('refuses to drop a claimed phase, naming it', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const before = await snapshot(h.store);
    const r = await a.raw('plan_mega', { ...PLAN, phases: [{ id: 2, name: 'Storage' }] });
    expect(textOf(r)).toMatch(/phases: phase 1 is claimed by t\d+/);
    expect(await snapshot(h.store)).toBe(before);
  });
});

describe('leases, heartbeats, releases', () => {
  it('a retry by the owner returns the same token', async () => {
    const a = await h.connect();
    await a.call('plan_mega', PLAN);
    const c1 = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    const again = await a.call<{ claimed: boolean; token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(again).toMatchObject({ claimed: true, token: c1.token });
  });

  it('heartbeat extends the lease; a stale token is told to stop', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string; lease_expires_at: string }>('claim_phase', { mega: 'CAB-1290', phase: 1, lease_seconds: 60 });
    h.clock.advance(30_000);
    const hb = await a.call<{ ok: boolean; lease_expires_at: string }>('heartbeat', { mega: 'CAB-1290', phase: 1, token: c.token });
    expect(hb.ok).toBe(true);
    expect(Date.parse(hb.lease_expires_at) - Date.parse(c.lease_expires_at)).toBe(30_000);
    h.clock.advance(61_000);
    const taken = await b.call<{ claimed: boolean }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(taken.claimed).toBe(true);
    const late = await a.call<{ ok: boolean; reason: string }>('heartbeat', { mega: 'CAB-1290', phase: 1, token: c.token });
    expect(late).toMatchObject({ ok: false, reason: 'stale_token' });
  });

  it('any writing tool call by the owner refreshes its leases; a read writes nothing', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ lease_expires_at: string }>('claim_phase', { mega: 'CAB-1290', phase: 1, lease_seconds: 10 });
    h.clock.advance(8_000);
    const before = await snapshot(h.store);
    await a.call('board', {});
    expect(await snapshot(h.store)).toBe(before);
    for (let i = 0; i < 3; i++) {
      h.clock.advance(8_000);
      await a.call('log_operation', { kind: 'note', message: `step ${i}` });
    }
    // 32 s after the claim, but the last call was 0 s ago: still held
    expect(await b.call('claim_phase', { mega: 'CAB-1290', phase: 1 })).toMatchObject({ claimed: false, reason: 'already_claimed' });
    expect(c.lease_expires_at).toBeDefined();
  });

  it('a stale claim is released on the next claim attempt, and the release is recorded', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const ca = await a.call<{ owner: string }>('claim_phase', { mega: 'CAB-1290', phase: 1, lease_seconds: 5 });
    h.clock.advance(6_000);
    const cb = await b.call<{ claimed: boolean; owner: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(cb.claimed).toBe(true);
    const ops = (await h.store.operations.recent(10)).filter((o) => o.kind === 'release');
    expect(ops).toHaveLength(1);
    expect(ops[0]!.data).toMatchObject({ reason: 'stale', previous_owner: ca.owner });
  });

  it('an owner known to be alive keeps its claim past the lease', async () => {
    const a = await h.connect({ session: { transport: 'stdio', pid: process.pid } });
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    await a.call('claim_phase', { mega: 'CAB-1290', phase: 1, lease_seconds: 1 });
    h.clock.advance(5_000);
    expect(await b.call('claim_phase', { mega: 'CAB-1290', phase: 1 })).toMatchObject({ claimed: false, reason: 'already_claimed' });
  });

  it('release gives the phase back with its reason; the token then stops working', async () => {
    const a = await h.connect();
    const b = await h.connect();
    await a.call('plan_mega', PLAN);
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'CAB-1290', phase: 1 });
    expect(await a.call('release_phase', { mega: 'CAB-1290', phase: 1, token: c.token, reason: 'blocked on infra' })).toMatchObject({ released: true });
    expect(await b.call('claim_phase', { mega: 'CAB-1290', phase: 1 })).toMatchObject({ claimed: true });
    expect(await a.call('complete_phase', { mega: 'CAB-1290', phase: 1, token: c.token })).toMatchObject({ completed: false, reason: 'stale_token' });
    expect((await h.store.operations.recent(5)).some((o) => o.kind === 'release' && o.message.includes('blocked on infra'))).toBe(true);
  });

  it('next-ready claim across MEGAs follows plan order and skips blocked phases', async () => {
    const a = await h.connect();
    await a.call('plan_mega', {
      key: 'A-1',
      title: 'first',
      phases: [
        { id: 1, name: 'a1' },
        { id: 2, name: 'a2', deps: [1] },
      ],
    });
    await a.call('plan_mega', { key: 'B-1', title: 'second', phases: [{ id: 1, name: 'b1' }] });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await a.call<{ claimed: boolean; phase?: { mega: string; id: unknown } }>('claim_phase', {});
      if (c.claimed) ids.push(`${c.phase!.mega}/${c.phase!.id}`);
    }
    expect(ids).toEqual(['A-1/1', 'B-1/1']);
  });
});

describe('tools/list', () => {
  it('every tool has an output schema, annotations and a description; the listing stays small', async () => {
    const a = await h.connect();
    const { tools } = await a.client.listTools();
    for (const t of tools) {
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.annotations, t.name).toBeDefined();
      expect(t.description!.length, t.name).toBeGreaterThan(40);
    }
    expect(JSON.stringify(tools).length).toBeLessThan(12 * 1024);
  });

  it('--read-only offers only read-only tools', async () => {
    const a = await h.connect({ readOnly: true });
    const { tools } = await a.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['board']);
  });
});
