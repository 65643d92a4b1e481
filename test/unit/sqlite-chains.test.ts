import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteSql } from '../../src/core/sqlite.js';

/** An in-memory SqliteSql with one table. */
function engine(): SqliteSql {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (v INTEGER)');
  return new SqliteSql(db, ':memory:');
}

describe('SqliteSql: a transaction belongs to its call chain', () => {
  it('a statement that waited for one transaction never runs inside the next one of another chain', async () => {
    const sql = engine();
    const insert = sql.prepare<[number]>('INSERT INTO t (v) VALUES (?)');
    const count = sql.prepare<[], { n: number }>('SELECT count(*) AS n FROM t');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // Chain T holds a transaction open.
    const t = sql.tx(async () => {
      await insert.run(1);
      await held;
    });
    // Chain Z queues a transaction that writes and then fails (rolled back).
    const z = sql.tx(async () => {
      await insert.run(2);
      throw new Error('z fails');
    });
    // Chain X queues a plain write and a read behind them.
    const x = (async () => {
      await insert.run(99);
      return (await count.get())?.n;
    })();
    release();
    await t;
    await expect(z).rejects.toThrow('z fails');
    const seen = await x;
    const rows = (await sql.prepare<[], { v: number }>('SELECT v FROM t ORDER BY v').all()).map((r) => r.v);
    expect(rows, "X's write is committed, Z's is not").toEqual([1, 99]);
    expect(seen, "X's read never saw Z's uncommitted row").toBe(2);
  });

  it('rows read by iterate are read whole: another chain may run statements between them', async () => {
    const sql = engine();
    const insert = sql.prepare<[number]>('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 5; i++) await insert.run(i);
    const seen: number[] = [];
    for await (const r of sql.prepare<[], { v: number }>('SELECT v FROM t ORDER BY v').iterate()) {
      seen.push(r.v);
      await insert.run(100 + r.v); // better-sqlite3 refuses this while an iterator is open on the connection
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });
});
