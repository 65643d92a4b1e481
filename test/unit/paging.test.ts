import { describe, expect, it } from 'vitest';
import { PAGE, checkpointBrief, decodeCursor, encodeCursor, fillPage, jsonBytes } from '../../src/phases/paging.js';

describe('board paging (pure)', () => {
  it('a cursor comes back as it went out, and only with the listing it belongs to', () => {
    const list = encodeCursor({ kind: 'megas', at: 1764460800000, key: 'CAB-1290' });
    const phases = encodeCursor({ kind: 'phases', mega: 'CAB-1290', ord: 99 });
    expect(list).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(list, undefined)).toEqual({ kind: 'megas', at: 1764460800000, key: 'CAB-1290' });
    expect(decodeCursor(phases, 'CAB-1290')).toEqual({ kind: 'phases', mega: 'CAB-1290', ord: 99 });
    expect(() => decodeCursor(list, 'CAB-1290')).toThrow(/^cursor: this cursor pages the list of MEGAs/);
    expect(() => decodeCursor(phases, undefined)).toThrow(/^cursor: this cursor pages the phases of CAB-1290: call board with mega "CAB-1290"/);
    expect(() => decodeCursor(phases, 'OTHER-1')).toThrow(/^cursor: this cursor pages the phases of CAB-1290, not of OTHER-1/);
  });

  it('anything else is refused naming cursor: bad base64, bad JSON, wrong shapes, unsafe numbers', () => {
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    for (const bad of [
      '',
      '!!',
      'a'.repeat(513),
      b64('{'),
      b64({ m: 1 }),
      b64(['m', 1.5, 'K']),
      b64(['m', 1, '']),
      b64(['m', 1, 'k'.repeat(65)]),
      b64(['p', 'K', -1]),
      b64(['p', 'K', 2 ** 60]),
      b64(['x', 'K', 1]),
      b64(['p', 'K', 1, 2]),
    ]) {
      expect(() => decodeCursor(bad, 'K'), bad).toThrow(/^cursor: not a board cursor/);
      expect(() => decodeCursor(bad, undefined), bad).toThrow(/^cursor: not a board cursor/);
    }
  });

  it('a page ends at its limit, or before its items pass the byte budget, and always holds one item', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => i);
    expect(await fillPage(rows, 4, (i) => ({ i }))).toEqual({ items: [0, 1, 2, 3].map((i) => ({ i })), last: 3, more: true });
    expect(await fillPage(rows.slice(0, 4), 4, (i) => ({ i }))).toMatchObject({ last: 3, more: false });
    const big = (i: number) => ({ i, pad: 'x'.repeat(PAGE.bytes / 3) });
    const cut = await fillPage(rows, 10, big);
    expect(cut.items).toHaveLength(2);
    expect(cut).toMatchObject({ last: 1, more: true });
    expect(jsonBytes(cut.items)).toBeLessThanOrEqual(PAGE.bytes + 10);
    const huge = await fillPage(rows, 10, (i) => ({ i, pad: 'x'.repeat(PAGE.bytes * 2) }));
    expect(huge).toMatchObject({ last: 0, more: true });
    expect(huge.items).toHaveLength(1);
  });

  it('the board shows a bounded brief of a checkpoint', () => {
    const long = Array.from({ length: 200 }, (_, i) => `${i} ${'s'.repeat(999)}`);
    const c = { id: 1, at: 'x', by: 't1000', mega: 'K', phase: 1, done: long, next: long, percent: 5, files: long, note: 'n'.repeat(20_000) };
    const b = checkpointBrief(c);
    expect(b).toMatchObject({ id: 1, by: 't1000', percent: 5 });
    expect([b.done.length, b.next.length, b.files.length, b.note?.length]).toEqual([10, 10, 20, 500]);
    expect(Math.max(...[...b.done, ...b.next, ...b.files].map((s) => s.length))).toBe(200);
    expect(jsonBytes(b)).toBeLessThan(10_000);
    expect(checkpointBrief({ ...c, note: null }).note).toBeNull();
  });
});
