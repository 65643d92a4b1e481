import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/core/db.js';
import { SqliteSql } from '../../src/core/sqlite.js';
import { tempDir } from '../helpers/server.js';

/**
 * The SQLite engine's transactions follow the async call chain (issue 14): the hot path runs a
 * statement at once when no other chain's transaction is open, and tracks chains only while one
 * is, so these pin what must not change with it.
 */
let sql: SqliteSql;
let dir: string;
const rows = () => sql.db.prepare('SELECT v FROM t ORDER BY v').pluck().all();
const insert = () => sql.prepare<[string]>('INSERT INTO t (v) VALUES (?)');
const tick = () => new Promise<void>((r) => setImmediate(r));

beforeEach(() => {
  dir = tempDir();
  sql = new SqliteSql(openDb(path.join(dir, 'tx.db')), 'tx.db');
  sql.db.exec('CREATE TABLE t (v TEXT NOT NULL)');
});
afterEach(async () => {
  await sql.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SqliteSql transactions', () => {
  it("another chain's statements wait for the open transaction and never see its uncommitted writes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: unknown[][] = [];
    const tx = sql.tx(async () => {
      await insert().run('a');
      await gate; // the transaction stays open across a real wait
      await insert().run('b');
    });
    await tick();
    expect(sql.inTx()).toBe(false);
    const read = sql
      .prepare<[], { v: string }>('SELECT v FROM t ORDER BY v')
      .all()
      .then((r) => seen.push(r.map((x) => x.v)));
    const write = insert().run('c');
    const streamed = (async () => {
      const out: string[] = [];
      for await (const r of sql.prepare<[], { v: string }>('SELECT v FROM t ORDER BY v').iterate()) out.push(r.v);
      seen.push(out);
    })();
    await tick();
    expect(seen).toEqual([]); // all three still wait
    release();
    await Promise.all([tx, read, write, streamed]);
    expect(seen).toEqual([
      ['a', 'b'],
      ['a', 'b', 'c'],
    ]);
  });

  it('a tx() inside the chain joins the open one: all of it is undone when the outer one throws', async () => {
    await expect(
      sql.tx(async () => {
        await insert().run('a');
        await sql.tx(async () => {
          expect(sql.inTx()).toBe(true);
          await insert().run('b');
        });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(rows()).toEqual([]);
    expect(sql.db.inTransaction).toBe(false);
  });

  it('a chain forked inside a transaction and still running after it is not taken for a later transaction', async () => {
    let resume!: () => void;
    const later = new Promise<void>((r) => (resume = r));
    let forked!: Promise<boolean>;
    await sql.tx(async () => {
      await insert().run('a');
      forked = (async () => {
        await later;
        return sql.inTx();
      })();
    });
    let inside: boolean | undefined;
    const second = sql.tx(async () => {
      resume();
      inside = await forked; // runs while the second transaction is open
      await insert().run('b');
    });
    await second;
    expect(inside).toBe(false);
    expect(await forked).toBe(false);
    // A tx() from such a chain opens a transaction of its own (it does not join a finished one).
    await sql.tx(async () => {
      await insert().run('c');
    });
    expect(rows()).toEqual(['a', 'b', 'c']);
  });

  it('a statement that fails answers a rejected promise, and a tx() whose function throws at once rejects too', async () => {
    const bad = sql.prepare('INSERT INTO t (v) VALUES (NULL)');
    const p = bad.run();
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toThrow(/NOT NULL/);
    const thrower = (): Promise<void> => {
      throw new Error('at once');
    };
    await expect(sql.tx(thrower)).rejects.toThrow('at once');
    await expect(sql.tx(async () => sql.tx(thrower))).rejects.toThrow('at once');
    expect(sql.db.inTransaction).toBe(false);
    await insert().run('ok');
    expect(rows()).toEqual(['ok']);
  });

  it('transactions of two chains run one after the other, each all or nothing', async () => {
    const order: string[] = [];
    const one = sql.tx(async () => {
      order.push('one:start');
      await insert().run('1a');
      await tick();
      await insert().run('1b');
      order.push('one:end');
    });
    const two = sql.tx(async () => {
      order.push('two:start');
      await insert().run('2a');
      throw new Error('two fails');
    });
    await one;
    await expect(two).rejects.toThrow('two fails');
    expect(order).toEqual(['one:start', 'one:end', 'two:start']);
    expect(rows()).toEqual(['1a', '1b']);
  });
});
