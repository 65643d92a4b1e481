import { describe, expect, it } from 'vitest';
import { snapshot, textOf, useHarness, type Agent } from '../helpers/server.js';

const PLAN = {
  key: 'RES-1',
  title: 'Reservations',
  phases: [
    { id: 1, name: 'API', points: 3 },
    { id: 2, name: 'Storage', points: 3 },
    { id: 3, name: 'UI', points: 2 },
  ],
};

interface Claim {
  claimed: boolean;
  token?: string;
  owner?: string;
  reason?: string;
  phase?: { mega: string; id: unknown };
  files?: string[];
  warnings?: string[];
  reserved_by?: { owner: string; agent: string | null; mega: string; phase: unknown; name: string; overlaps: { mine: string; theirs: string; example?: string }[] }[];
  message: string;
}

const h = useHarness();

async function twoAgents(): Promise<[Agent, Agent, string, string]> {
  const a = await h.connect();
  const b = await h.connect();
  const sa = await a.call<{ instance: string }>('session_start', { agent: 'claude-code' });
  const sb = await b.call<{ instance: string }>('session_start', { agent: 'cursor' });
  await a.call('plan_mega', PLAN);
  return [a, b, sa.instance, sb.instance];
}

describe('claim_phase files: reservations that other claims respect', () => {
  it('a claim overlapping another owner’s files is refused, naming owner, agent, phase and globs; nothing changes', async () => {
    const [a, b, ia] = await twoAgents();
    const ca = await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/api/**', 'docs/api.md'] });
    expect(ca).toMatchObject({ claimed: true, files: ['src/api/**', 'docs/api.md'] });
    const before = await snapshot(h.store);
    const raw = await b.raw('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/storage/**', 'src/api/routes.ts'] });
    const cb = raw.structuredContent as unknown as Claim;
    expect(cb).toMatchObject({ claimed: false, reason: 'files_reserved', owner: ia, phase: { mega: 'RES-1', id: 2 } });
    expect(cb.reserved_by).toEqual([
      { owner: ia, agent: 'claude-code', mega: 'RES-1', phase: 1, name: 'API', overlaps: [{ mine: 'src/api/routes.ts', theirs: 'src/api/**', example: 'src/api/routes.ts' }] },
    ]);
    expect(textOf(raw)).toContain(`RES-1/1 "API" held by ${ia} (claude-code) reserves "src/api/routes.ts" ∩ "src/api/**"`);
    expect(textOf(raw)).toContain('reason: files_reserved');
    expect(await snapshot(h.store)).toBe(before);
    // Files that do not overlap: claimed, and the board shows both reservations.
    const ok = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/storage/**', 'src/api.ts'] });
    expect(ok).toMatchObject({ claimed: true, files: ['src/storage/**', 'src/api.ts'] });
    const boardRaw = await b.raw('board', {});
    expect(textOf(boardRaw)).toContain(' · files src/api/**, docs/api.md');
    const board = boardRaw.structuredContent as { megas: { phases: { id: unknown; files?: string[] }[] }[] };
    expect(board.megas[0]?.phases.map((p) => [p.id, p.files])).toEqual([
      [1, ['src/api/**', 'docs/api.md']],
      [2, ['src/storage/**', 'src/api.ts']],
      [3, undefined],
    ]);
  });

  it('the same owner’s other claims never block it', async () => {
    const [a] = await twoAgents();
    await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/**'] });
    expect(await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/x.ts'] })).toMatchObject({ claimed: true });
  });

  it('claim-next with conflicting files claims nothing: every phase would conflict the same way', async () => {
    const [a, b, ia] = await twoAgents();
    await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/'] });
    const next = await b.call<Claim>('claim_phase', { files: ['src/ui/**'] });
    expect(next).toMatchObject({ claimed: false, reason: 'files_reserved', owner: ia });
    expect((next as unknown as { remaining: number }).remaining).toBe(3);
    const mega = await b.call<Claim>('claim_phase', { mega: 'RES-1', files: ['lib/ui/**'] });
    expect(mega).toMatchObject({ claimed: true, phase: { id: 2 }, files: ['lib/ui/**'] });
  });

  it('checkpoint files widen the claim: a later claimer overlapping the new globs is refused', async () => {
    const [a, b, ia] = await twoAgents();
    const ca = await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/api/**'] });
    // Before the widening, the same claim goes through.
    const first = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['schemas/*.ts'] });
    expect(first).toMatchObject({ claimed: true });
    await b.call('release_phase', { mega: 'RES-1', phase: 2, token: first.token, reason: 'retry later' });
    const cp = await a.call<{ saved: boolean; files: string[]; message: string }>('checkpoint', {
      mega: 'RES-1',
      phase: 1,
      token: ca.token,
      progress: { done: [], next: ['schemas'] },
      files: ['schemas/phases.ts'],
    });
    expect(cp).toMatchObject({ saved: true, files: ['src/api/**', 'schemas/phases.ts'] });
    const cb = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['schemas/*.ts'] });
    expect(cb).toMatchObject({ claimed: false, reason: 'files_reserved', owner: ia });
    expect(cb.reserved_by?.[0]?.overlaps).toEqual([{ mine: 'schemas/*.ts', theirs: 'schemas/phases.ts', example: 'schemas/phases.ts' }]);
  });

  it('checkpoint files overlapping another owner’s reservation are refused and nothing is saved', async () => {
    const [a, b, ia] = await twoAgents();
    await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/api/**'] });
    const cb = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/storage/**'] });
    const before = await snapshot(h.store);
    const cp = await b.call<{ saved: boolean; reason: string; owner: string; message: string }>('checkpoint', {
      mega: 'RES-1',
      phase: 2,
      token: cb.token,
      progress: { done: ['x'], next: [] },
      files: ['src/**/*.ts'],
    });
    expect(cp).toMatchObject({ saved: false, reason: 'files_reserved', owner: ia });
    expect(cp.message).toContain('nothing saved');
    expect(await snapshot(h.store)).toBe(before);
  });

  it('reservations end with the claim: complete, release, and a stale lease release them', async () => {
    const [a, b] = await twoAgents();
    const c1 = await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/**'] });
    expect(await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/a.ts'] })).toMatchObject({ reason: 'files_reserved' });
    await a.call('complete_phase', { mega: 'RES-1', phase: 1, token: c1.token });
    const c2 = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/a.ts'] });
    expect(c2).toMatchObject({ claimed: true });
    expect(await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 3, files: ['src/**'] })).toMatchObject({ reason: 'files_reserved' });
    await b.call('release_phase', { mega: 'RES-1', phase: 2, token: c2.token, reason: 'done elsewhere' });
    const c3 = await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 3, files: ['src/**'] });
    expect(c3).toMatchObject({ claimed: true });
    // A released phase claimed again starts with no reservation of its own.
    const again = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2 });
    expect(again).toMatchObject({ claimed: true });
    expect(again.files).toBeUndefined();
    // a's session goes away and its lease runs out: its reservation no longer blocks.
    await a.close();
    h.clock.advance(7201_000);
    const b2 = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 3, files: ['src/ui.ts'] });
    expect(b2).toMatchObject({ claimed: true });
  });

  it('adoption hands the reservation to the adopter', async () => {
    const [a, b, ia] = await twoAgents();
    await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/api/**'] });
    await a.close();
    const c = await h.connect();
    const sc = await c.call<{ instance: string }>('session_start', { agent: 'codex', resume: ia });
    const r = await b.call<Claim>('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/api/x.ts'] });
    expect(r).toMatchObject({ claimed: false, reason: 'files_reserved', owner: sc.instance });
    expect(r.reserved_by?.[0]).toMatchObject({ owner: sc.instance, agent: 'codex' });
  });

  it('bad files are an error naming the field, and nothing changes', async () => {
    const [a] = await twoAgents();
    const c = await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1 });
    const before = await snapshot(h.store);
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['claim_phase', { mega: 'RES-1', phase: 2, files: ['/etc/passwd'] }, /files\[0\]: "\/etc\/passwd": must be relative/],
      ['claim_phase', { mega: 'RES-1', phase: 2, files: ['src/ok.ts', '../outside/**'] }, /files\[1\]: .*no "\.\." segment/],
      ['claim_phase', { mega: 'RES-1', phase: 2, files: ['src/{a,b'] }, /files\[0\]: .*unclosed/],
      ['claim_phase', { mega: 'RES-1', phase: 2, files: ['x'.repeat(300)] }, /files\[0\]: at most 256 characters/],
      ['claim_phase', { mega: 'RES-1', phase: 2, files: Array.from({ length: 51 }, (_, i) => `f${i}`) }, /files: at most 50 globs/],
      ['claim_phase', { mega: 'RES-1', phase: 2, files: 'src/**' }, /files/],
      ['checkpoint', { mega: 'RES-1', phase: 1, token: c.token, progress: { done: [], next: [] }, files: ['C:/x'] }, /files\[0\]: .*absolute/],
      ['checkpoint', { progress: { done: [], next: [] }, files: ['src/**'] }, /files: reserves files for a claim/],
    ];
    for (const [tool, args, msg] of cases) {
      const r = await a.raw(tool, args);
      expect(r.isError, JSON.stringify(args).slice(0, 80)).toBe(true);
      expect(textOf(r)).toMatch(msg);
    }
    expect(await snapshot(h.store)).toBe(before);
  });
});

describe('phases.reservations "warn"', () => {
  const w = useHarness({ config: { phases: { reservations: 'warn' } } });

  it('an overlapping claim succeeds with a warning naming the other owner; the config weakening is said', async () => {
    const a = await w.connect();
    const b = await w.connect();
    const sa = await a.call<{ instance: string }>('session_start', { agent: 'claude-code' });
    await a.call('plan_mega', PLAN);
    await a.call<Claim>('claim_phase', { mega: 'RES-1', phase: 1, files: ['src/**'] });
    const raw = await b.raw('claim_phase', { mega: 'RES-1', phase: 2, files: ['src/a.ts'] });
    const r = raw.structuredContent as unknown as Claim;
    expect(r).toMatchObject({ claimed: true, files: ['src/a.ts'] });
    expect(r.warnings?.[0]).toContain(`held by ${sa.instance} (claude-code) reserves "src/a.ts" ∩ "src/**"`);
    expect(r.reserved_by?.[0]?.owner).toBe(sa.instance);
    expect(r.message).toContain('phases.reservations "warn"');
    expect(textOf(raw)).toContain(`warning: files overlap another claim (phases.reservations is "warn"): RES-1/1 "API" held by ${sa.instance}`);
    // checkpoint widening into a's files: saved, with a warning
    const cp = await b.call<{ saved: boolean; warnings: string[] }>('checkpoint', { mega: 'RES-1', phase: 2, token: r.token, progress: { done: [], next: [] }, files: ['src/b.ts'] });
    expect(cp.saved).toBe(true);
    expect(cp.warnings[0]).toContain(sa.instance);
  });
});
