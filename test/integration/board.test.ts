import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { useHarness, snapshot, textOf } from '../helpers/server.js';

// The board a page at a time (issue 14): a summary per MEGA with a cursor, one MEGA's phases paged
// the same way, a small board answered as before, bad cursors refused by name. The 100,000-phase
// board is test/e2e/board-scale.test.ts.

interface Phase {
  mega: string;
  id: number | string;
  status: string;
  waits_on?: (number | string)[];
  checkpoint?: { next: string[]; note: string | null; files: string[] } | null;
}
interface Mega {
  key: string;
  total: number;
  done: number;
  claimed: number;
  ready: number;
  blocked: number;
  owners: { instance: string; phases: number }[];
  phases?: Phase[];
}
interface Board {
  megas: Mega[];
  megas_total: number;
  cursor?: string;
}

const h = useHarness();

const plan = (key: string, n: number, extra: (i: number) => Record<string, unknown> = () => ({})) => ({
  key,
  title: `MEGA ${key}`,
  phases: Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}`, points: 1, ...extra(i + 1) })),
});

/** Follows the cursors of a board query to the end: every answer, structured and as text. */
async function pages(call: (args: Record<string, unknown>) => Promise<CallToolResult>, args: Record<string, unknown>): Promise<{ board: Board; text: string; bytes: number }[]> {
  const out: { board: Board; text: string; bytes: number }[] = [];
  let cursor: string | undefined;
  do {
    const r = await call({ ...args, ...(cursor ? { cursor } : {}) });
    expect(r.isError, textOf(r)).toBeFalsy();
    const board = r.structuredContent as unknown as Board;
    out.push({ board, text: textOf(r), bytes: Buffer.byteLength(JSON.stringify(r)) });
    cursor = board.cursor;
    expect(out.length).toBeLessThan(100);
  } while (cursor);
  return out;
}

describe('board pages', () => {
  it('a small board answers as before: every MEGA with its phases, counts, owners, no cursor', async () => {
    const a = await h.connect();
    await a.call(
      'plan_mega',
      plan('S-1', 3, (i) => (i === 3 ? { deps: [1, 2] } : {})),
    );
    await a.call('plan_mega', plan('S-2', 2));
    const c = await a.call<{ owner: string }>('claim_phase', { mega: 'S-1', phase: 1 });
    const r = await a.raw('board', {});
    const b = r.structuredContent as unknown as Board;
    expect(b.cursor).toBeUndefined();
    expect(b.megas_total).toBe(2);
    expect(b.megas.map((m) => m.key)).toEqual(['S-1', 'S-2']);
    expect(b.megas[0]).toMatchObject({ total: 3, done: 0, claimed: 1, ready: 1, blocked: 1, owners: [{ instance: c.owner, phases: 1 }] });
    expect(b.megas[0]?.phases?.map((p) => p.status)).toEqual(['claimed', 'ready', 'blocked']);
    expect(b.megas[0]?.phases?.[2]?.waits_on).toEqual([1, 2]);
    expect(textOf(r)).toMatch(/S-1 {2}MEGA S-1 {2}— 0\/3 done, 1 claimed, 1 ready · 0\/3 pts\n {2}▶ 1/);
    expect(textOf(r)).toContain('waits on 1, 2');
    expect(textOf(r)).not.toContain('next page');
  });

  it('without mega: a summary per MEGA, a page at a time, each MEGA once, in planned order; the text says how to go on', async () => {
    const a = await h.connect();
    for (let i = 1; i <= 5; i++) await a.call('plan_mega', plan(`P-${i}`, 30));
    const all = await pages((args) => a.raw('board', args), { limit: 2 });
    expect(all.map((p) => p.board.megas.length)).toEqual([2, 2, 1]);
    expect(all.flatMap((p) => p.board.megas.map((m) => m.key))).toEqual(['P-1', 'P-2', 'P-3', 'P-4', 'P-5']);
    expect(all.every((p) => p.board.megas.every((m) => m.phases === undefined && m.total === 30 && m.ready === 30))).toBe(true);
    expect(all.every((p) => p.board.megas_total === 5)).toBe(true);
    expect(all[0]?.text).toContain(`2 of 5 MEGAs here; next page: board {"cursor":"${all[0]?.board.cursor}"}; phases of one: board {"mega":"P-1"}`);
    expect(all[2]?.text).toContain('phases of one MEGA: board {"mega":"P-5"}');
    // Over 100 phases in all: the default page is the summary alone, and says how to see phases.
    const first = await a.raw('board', {});
    expect((first.structuredContent as unknown as Board).megas.map((m) => m.phases)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(textOf(first)).toMatch(/^P-1 {2}MEGA P-1 {2}— 0\/30 done, 0 claimed, 30 ready, 0 blocked · 0\/30 pts$/m);
  });

  it("with mega: that MEGA's phases a page at a time, each once in plan order; blocked phases name their unfinished deps across pages", async () => {
    const a = await h.connect();
    await a.call(
      'plan_mega',
      plan('M-1', 7, (i) => (i === 7 ? { deps: [1, 6] } : {})),
    );
    const c = await a.call<{ token: string }>('claim_phase', { mega: 'M-1', phase: 1 });
    await a.call('complete_phase', { mega: 'M-1', phase: 1, token: c.token });
    const all = await pages((args) => a.raw('board', args), { mega: 'M-1', limit: 3 });
    expect(all.map((p) => p.board.megas[0]?.phases?.length)).toEqual([3, 3, 1]);
    expect(all.flatMap((p) => p.board.megas[0]?.phases?.map((x) => x.id))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.every((p) => p.board.megas[0]?.total === 7 && p.board.megas[0]?.done === 1)).toBe(true);
    expect(all[2]?.board.megas[0]?.phases?.[0]).toMatchObject({ id: 7, status: 'blocked', waits_on: [6] });
    expect(all[0]?.text).toContain(`3 of 7 phases here; next page: board {"mega":"M-1","cursor":"${all[0]?.board.cursor}"}`);
    expect(all[2]?.text).toContain('waits on 6');
    // The default page holds a normal MEGA whole.
    const whole = await a.call<Board>('board', { mega: 'M-1' });
    expect(whole.cursor).toBeUndefined();
    expect(whole.megas[0]?.phases).toHaveLength(7);
  });

  it('a bad cursor or limit is an error naming it, and changes nothing', async () => {
    const a = await h.connect();
    await a.call('plan_mega', plan('C-1', 4));
    await a.call('plan_mega', plan('C-2', 4));
    const megaCursor = (await a.call<Board>('board', { mega: 'C-1', limit: 2 })).cursor as string;
    const listCursor = (await a.call<Board>('board', { limit: 1 })).cursor as string;
    expect(megaCursor).toBeTruthy();
    expect(listCursor).toBeTruthy();
    const before = await snapshot(h.store);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ cursor: 'not a cursor!' }, /cursor: not a board cursor/],
      [{ cursor: Buffer.from('["x",1,2]').toString('base64url') }, /cursor: not a board cursor/],
      [{ cursor: Buffer.from('["p","C-1",-5]').toString('base64url') }, /cursor: not a board cursor/],
      [{ cursor: megaCursor }, /cursor: this cursor pages the phases of C-1: call board with mega "C-1"/],
      [{ mega: 'C-2', cursor: megaCursor }, /cursor: this cursor pages the phases of C-1, not of C-2/],
      [{ mega: 'C-1', cursor: listCursor }, /cursor: this cursor pages the list of MEGAs, not the phases of C-1/],
      [{ cursor: 'x'.repeat(513) }, /cursor/],
      [{ limit: 0 }, /limit/],
      [{ limit: 501 }, /limit/],
      [{ limit: 2.5 }, /limit/],
    ];
    for (const [args, message] of cases) {
      const r = await a.raw('board', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(r)).toMatch(message);
    }
    expect(await snapshot(h.store)).toBe(before);
  });

  it('pages stay small with the largest phases and checkpoints the input limits allow', async () => {
    const a = await h.connect();
    // 200 plain phases, then 20 of the largest: 200-character names, 50 tickets, 200 deps of 64-character ids.
    const id = (i: number) => `${i}-`.padEnd(64, 'n');
    const phases = Array.from({ length: 220 }, (_, i) => ({
      id: id(i),
      name: 'N'.repeat(200),
      points: 1,
      tickets: i < 200 ? [] : Array.from({ length: 50 }, (_, t) => `T-${t}-`.padEnd(64, 't')),
      deps: i < 200 ? [] : Array.from({ length: 200 }, (_, d) => id(d)),
    }));
    await a.call('plan_mega', { key: 'B-1', title: 'T'.repeat(200), phases });
    const c = await a.call<{ token: string; phase: { id: string } }>('claim_phase', { mega: 'B-1', phase: id(0) });
    const long = Array.from({ length: 200 }, (_, i) => `${i} ${'s'.repeat(990)}`);
    await a.call('checkpoint', { mega: 'B-1', phase: c.phase.id, token: c.token, progress: { done: long, next: long, percent: 10, files: long.slice(0, 100) }, note: 'x'.repeat(20_000) });
    const all = await pages((args) => a.raw('board', args), { mega: 'B-1', limit: 500 });
    expect(all.length).toBeGreaterThan(1);
    expect(Math.max(...all.map((p) => p.bytes))).toBeLessThan(256 * 1024);
    expect(all.flatMap((p) => p.board.megas[0]?.phases?.map((x) => x.id))).toEqual(phases.map((p) => p.id));
    expect(all.at(-1)?.board.megas[0]?.phases?.at(-1)?.waits_on).toHaveLength(200);
    const cp = all[0]?.board.megas[0]?.phases?.[0]?.checkpoint;
    expect(cp?.next).toHaveLength(10);
    expect(cp?.next[0]?.length).toBeLessThanOrEqual(200);
    expect(cp?.note?.length).toBe(500);
    expect(cp?.files.length).toBeLessThanOrEqual(20);
  });
});
