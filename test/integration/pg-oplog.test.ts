import { afterAll, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store.js';
import { freshDatabase } from '../helpers/postgres.js';

/** The hash-chained operations log on PostgreSQL: many writers on many servers, one chain; tampering is found. */

const stores: Store[] = [];
async function open(url: string): Promise<Store> {
  const s = await Store.open(url, { leaseSeconds: 7200 });
  stores.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => {})));
});

async function history(url: string, writers = 3, each = 40): Promise<Store[]> {
  const servers = await Promise.all(Array.from({ length: writers }, () => open(url)));
  // Every server appends from several call chains at once: the chain must come out whole.
  await Promise.all(
    servers.flatMap((s, i) =>
      Array.from({ length: each }, (_, j) => s.tx(() => s.operations.append(1_000 + j, { kind: 'note', instance: `t${i}`, message: `server ${i} entry ${j}`, data: { i, j } }))),
    ),
  );
  return servers;
}

describe('the operations log on PostgreSQL', () => {
  it('three servers appending at once write one unbroken chain, numbered without a gap', async () => {
    const url = await freshDatabase();
    const [a, b] = await history(url);
    const r = await a!.operations.verify();
    expect(r).toEqual({ ok: true, entries: 120, problem: null });
    const seqs = (await b!.sql.prepare<[], { seq: number }>('SELECT seq FROM operations ORDER BY seq').all()).map((x) => x.seq);
    expect(seqs).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(await b!.sql.prepare('SELECT seq FROM operations_head').get()).toEqual({ seq: 120 });
  });

  it('names an entry edited, deleted or cut off the end by someone who switched the triggers off', async () => {
    const url = await freshDatabase();
    const [a] = await history(url, 1, 6);
    const sql = a!.sql;
    await expect(sql.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run()).rejects.toThrow(/append-only/);
    await sql.exec('ALTER TABLE operations DISABLE TRIGGER USER');
    await sql.prepare("UPDATE operations SET message = 'nothing happened' WHERE seq = 4").run();
    expect((await a!.operations.verify()).problem).toMatchObject({ seq: 4, problem: 'edited' });
    await sql.prepare('DELETE FROM operations WHERE seq = 3').run();
    expect((await a!.operations.verify()).problem).toMatchObject({ seq: 3, problem: 'deleted' });
  });

  it('notices the last entries cut off (the head row remembers the end)', async () => {
    const url = await freshDatabase();
    const [a] = await history(url, 1, 5);
    await a!.sql.exec('ALTER TABLE operations DISABLE TRIGGER USER');
    await a!.sql.prepare('DELETE FROM operations WHERE seq = 5').run();
    const r = await a!.operations.verify();
    expect(r.ok).toBe(false);
    expect(r.problem).toMatchObject({ seq: 5 });
  });
});
