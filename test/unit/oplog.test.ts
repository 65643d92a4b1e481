import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/core/oplog.js';

describe('verifyChain', () => {
  const hash = (prev: string, r: { seq: number; body: string }) => createHash('sha256').update(`${prev}|${r.seq}|${r.body}`).digest('hex');
  const chain = (n: number) => {
    const rows: { seq: number; body: string; prev_hash: string; hash: string }[] = [];
    let prev = 'G';
    for (let i = 1; i <= n; i++) {
      const r = { seq: i, body: `e${i}`, prev_hash: prev, hash: '' };
      r.hash = hash(prev, r);
      prev = r.hash;
      rows.push(r);
    }
    return rows;
  };
  it('accepts an intact chain and counts its entries', async () => {
    expect(await verifyChain(chain(5), 'G', hash)).toEqual({ entries: 5, problem: null });
  });
  it('names an edited entry', async () => {
    const rows = chain(5);
    rows[2]!.body = 'forged';
    expect((await verifyChain(rows, 'G', hash)).problem).toMatchObject({ seq: 3, problem: 'edited' });
  });
  it('names a deleted entry by the gap, and a deleted first entry', async () => {
    const rows = chain(5);
    expect((await verifyChain([...rows.slice(0, 1), ...rows.slice(3)], 'G', hash)).problem).toMatchObject({ seq: 2, problem: 'deleted', detail: 'entries 2–3 are missing (next is 4)' });
    expect((await verifyChain(rows.slice(1), 'G', hash)).problem).toMatchObject({ seq: 1, problem: 'deleted' });
  });
  it('names entries cut off the end by the recorded head', async () => {
    const rows = chain(5);
    const head = { seq: 5, hash: rows[4]!.hash };
    expect((await verifyChain(rows, 'G', hash, head)).problem).toBeNull();
    expect((await verifyChain(rows.slice(0, 3), 'G', hash, head)).problem).toMatchObject({ seq: 4, problem: 'deleted', detail: 'entries 4–5 at the end are missing (the head records 5)' });
    expect((await verifyChain(rows, 'G', hash, { seq: 5, hash: 'x' })).problem).toMatchObject({ seq: 5, problem: 'edited' });
  });

  it('names an entry re-hashed onto a foreign link as inserted', async () => {
    const rows = chain(4);
    const forged = { seq: 3, body: 'new', prev_hash: 'x'.repeat(64), hash: '' };
    forged.hash = hash(forged.prev_hash, forged);
    rows[2] = forged;
    expect((await verifyChain(rows, 'G', hash)).problem).toMatchObject({ seq: 3, problem: 'inserted' });
  });
});
