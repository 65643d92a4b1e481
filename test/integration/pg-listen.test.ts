import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPg, type PgSql } from '../../src/core/pg.js';
import { freshDatabase } from '../helpers/postgres.js';

/** LISTEN/NOTIFY: a commit that logged an operation, made through one server, reaches every other at once. */

const opened: PgSql[] = [];
async function open(url: string): Promise<PgSql> {
  const sql = await openPg(url);
  opened.push(sql);
  return sql;
}
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(10);
  }
}
let seq = 0;
const append = (sql: PgSql) => sql.prepare('INSERT INTO operations (seq, ts, kind, message, prev_hash, hash) VALUES (?, 0, ?, ?, ?, ?)').run(++seq, 'note', 'm', `h${seq - 1}`, `h${seq}`);

/** The listening connections on a database, as PostgreSQL sees them. */
async function listeners(url: string): Promise<number[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN factory_changes'");
    return r.rows.map((x: { pid: number }) => x.pid);
  } finally {
    await c.end();
  }
}

describe('listen', () => {
  it('hears every commit that logged an operation, made by another server, once per transaction; never a rollback or a write without an entry', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)];
    let heard = 0;
    const off = await b.listen(() => heard++);
    await a.tx(async () => {
      await append(a);
      await append(a);
    });
    await until(() => heard === 1);
    await a
      .tx(async () => {
        await append(a);
        throw new Error('rolled back');
      })
      .catch(() => {});
    await a.tx(async () => {
      await a.prepare("INSERT INTO megas (key, title, created_at, updated_at) VALUES ('M', 't', 0, 0)").run();
    });
    await append(a); // autocommit
    await until(() => heard === 2);
    await sleep(150);
    expect(heard).toBe(2);
    await off();
    await append(a);
    await sleep(150);
    expect(heard).toBe(2);
  });

  it('a dropped LISTEN connection reconnects, tells its listeners once (a change may have been missed), and hears later commits', async () => {
    const url = await freshDatabase();
    const [a, b] = [await open(url), await open(url)];
    let heard = 0;
    await b.listen(() => heard++);
    const [pid] = await listeners(url);
    expect(pid).toBeGreaterThan(0);
    await a.prepare('SELECT pg_terminate_backend(?)').get(pid);
    await until(() => heard === 1);
    const [again] = await listeners(url);
    expect(again).toBeDefined();
    expect(again).not.toBe(pid);
    await append(a);
    await until(() => heard === 2);
  });

  it("one connection listens for all of a server's listeners, and close() ends it", async () => {
    const url = await freshDatabase();
    const b = await openPg(url);
    const seen: string[] = [];
    await b.listen(() => seen.push('x'));
    await b.listen(() => seen.push('y'));
    expect(await listeners(url)).toHaveLength(1);
    await append(b);
    await until(() => seen.length === 2);
    expect(seen.sort()).toEqual(['x', 'y']);
    await b.close();
    expect(await listeners(url)).toEqual([]);
  });
});
