import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaTooNewError } from '../../src/core/db.js';
import { DatabaseOpenError, openPg, type PgSql } from '../../src/core/pg.js';
import { PG_SCHEMA_VERSION } from '../../src/core/pg-migrations.js';
import { freshDatabase, pgAdminUrl } from '../helpers/postgres.js';

/** The PostgreSQL engine of the Sql contract against the run's real server (test/helpers/postgres-server.ts). */

const opened: PgSql[] = [];
async function open(url: string, opts?: Parameters<typeof openPg>[1]): Promise<PgSql> {
  const sql = await openPg(url, opts);
  opened.push(sql);
  return sql;
}
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => {})));
});

/** A promise and its resolver, to hold one call chain at a point while another runs. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('statements', () => {
  let sql: PgSql;
  beforeAll(async () => {
    sql = await open(await freshDatabase());
    await sql.exec('CREATE TABLE t (a BIGINT, b TEXT, c DOUBLE PRECISION, d INTEGER); CREATE TABLE u (x TEXT)');
  });

  it('takes ? positional parameters, and run() counts the rows changed', async () => {
    const ins = sql.prepare<[number, string, number, number]>('INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)');
    expect(await ins.run(1, 'one', 1.5, 1)).toEqual({ changes: 1 });
    expect(await ins.run(2, 'two', 2.5, 0)).toEqual({ changes: 1 });
    expect(await sql.prepare('UPDATE t SET d = ? WHERE a >= ?').run(7, 1)).toEqual({ changes: 2 });
    expect(await sql.prepare('UPDATE t SET d = ? WHERE a > ?').run(7, 100)).toEqual({ changes: 0 });
    // as on SQLite: a read run for its effect changed nothing
    expect(await sql.prepare('SELECT a FROM t WHERE a >= ?').run(1)).toEqual({ changes: 0 });
  });

  it('iterate yields the rows one by one', async () => {
    const seen: unknown[] = [];
    for await (const r of sql.prepare<[number], { a: number }>('SELECT a FROM t WHERE a >= ? ORDER BY a').iterate(1)) seen.push(r);
    expect(seen).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('iterate reads through a cursor a batch at a time, in order; a loop left early gives its connection back', async () => {
    const one = await open(await freshDatabase(), { max: 1 });
    await one.exec('CREATE TABLE big (n BIGINT PRIMARY KEY)');
    await one.prepare('INSERT INTO big SELECT g FROM generate_series(1, ?) g').run(1234);
    const all: number[] = [];
    for await (const r of one.prepare<[number], { n: number }>('SELECT n FROM big WHERE n >= ? ORDER BY n').iterate(1)) all.push(r.n);
    expect(all).toEqual(Array.from({ length: 1234 }, (_, i) => i + 1));
    for await (const r of one.prepare<[], { n: number }>('SELECT n FROM big ORDER BY n').iterate()) if (r.n === 3) break;
    // the pool's only connection is free again, and no transaction was left open on it
    expect(await one.prepare("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in%'").get()).toEqual({ n: 0 });
    // inside a transaction it reads that transaction's own writes
    await one.tx(async () => {
      await one.prepare('DELETE FROM big WHERE n > 2').run();
      const seen: number[] = [];
      for await (const r of one.prepare<[], { n: number }>('SELECT n FROM big ORDER BY n').iterate()) seen.push(r.n);
      expect(seen).toEqual([1, 2]);
    });
  });

  it('takes @name parameters from one object, a name repeated in places of different types, and says which one is missing', async () => {
    const ins = sql.prepare<[{ a: number; b: string }]>('INSERT INTO t (a, b, c, d) VALUES (@a, @b, @a * 1.0, @a)');
    await ins.run({ a: 3, b: 'three' });
    expect(await sql.prepare('SELECT a, b, c, d FROM t WHERE a = @a AND b = @b').get({ a: 3, b: 'three' })).toEqual({ a: 3, b: 'three', c: 3, d: 3 });
    await expect(ins.run({ a: 4 } as never)).rejects.toThrow(/missing named parameter "b"/);
    await expect(sql.prepare('SELECT 1 FROM t WHERE a = ?').all()).rejects.toThrow(/takes 1 parameter\(s\), got 0/);
    expect(() => sql.prepare('SELECT 1 FROM t WHERE a = ? AND b = @b')).toThrow(/\? and @name parameters together/);
  });

  it('leaves ? and @ alone inside strings, quoted names and comments', async () => {
    const row = await sql.prepare(`SELECT '?' AS "q?", 'it''s @b' AS s, b FROM t /* ? @x */ WHERE a = ? -- ? @y\n`).get(1);
    expect(row).toEqual({ 'q?': '?', s: "it's @b", b: 'one' });
  });

  it('get/all answer plain rows with the columns as written; BIGINT and COUNT are numbers, booleans 0/1, no row is undefined', async () => {
    const rows = await sql
      .prepare<[], { a: number; b: string; n: number; big: number; yes: number; no: number }>(
        'SELECT a, b, count(*) OVER () AS n, a * 1000000000000 AS big, (a > 0) AS yes, (a < 0) AS no FROM t ORDER BY a',
      )
      .all();
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { a: 1, b: 'one', n: 3, big: 1e12, yes: 1, no: 0 },
      { a: 2, b: 'two', n: 3, big: 2e12, yes: 1, no: 0 },
      { a: 3, b: 'three', n: 3, big: 3e12, yes: 1, no: 0 },
    ]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    expect(await sql.prepare('SELECT a FROM t WHERE a = ?').get(42)).toBeUndefined();
    expect(await sql.prepare('SELECT sum(a) AS s, max(c) AS m FROM t').get()).toEqual({ s: 6, m: 3 });
  });

  it('binds booleans as 0/1 into INTEGER columns, as the SQLite code would store them', async () => {
    await sql.prepare('INSERT INTO t (a, d) VALUES (?, ?)').run(10, true);
    expect(await sql.prepare('SELECT d FROM t WHERE a = 10').get()).toEqual({ d: 1 });
  });

  it('tryRun runs the write and says true', async () => {
    const st = sql.prepare<[string]>('INSERT INTO u (x) VALUES (?)');
    expect(await sql.tryRun(st, 'beat')).toBe(true);
    expect(await sql.prepare('SELECT x FROM u').all()).toEqual([{ x: 'beat' }]);
  });

  it('tryRun never waits for a writer holding its row: false at once, nothing written; a writer of other rows does not stop it', async () => {
    const held = gate();
    const release = gate();
    const other = sql.tx(async () => {
      await sql.prepare("UPDATE u SET x = 'held' WHERE x = 'beat'").run();
      held.open();
      await release.wait;
    });
    await held.wait;
    const t0 = Date.now();
    expect(await sql.tryRun(sql.prepare<[string]>('UPDATE u SET x = ? WHERE x IS NOT NULL'), 'beat 2')).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await sql.tryRun(sql.prepare<[string]>('INSERT INTO t (b) VALUES (?)'), 'another row')).toBe(true);
    release.open();
    await other;
    expect(await sql.prepare('SELECT x FROM u').all()).toEqual([{ x: 'held' }]);
  });

  it("a failing statement is an error with PostgreSQL's reason, and the pool goes on", async () => {
    await expect(sql.prepare('SELECT nope FROM t').all()).rejects.toThrow(/column "nope" does not exist/);
    expect(await sql.prepare('SELECT count(*) AS n FROM u').get()).toEqual({ n: 1 });
  });

  it('where names user, host, port and database', () => {
    expect(sql.where).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/t_[0-9a-f]+$/);
    expect(sql.dialect).toBe('postgres');
  });
});

describe('transactions', () => {
  let url: string;
  let sql: PgSql;
  beforeAll(async () => {
    url = await freshDatabase();
    sql = await open(url);
    await sql.exec('CREATE TABLE n (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
  });
  const count = async (s: PgSql, k: string) => (await s.prepare<[string], { v: number }>('SELECT v FROM n WHERE k = ?').get(k))?.v;

  it('commits everything fn wrote, and answers what fn returned', async () => {
    const out = await sql.tx(async () => {
      expect(sql.inTx()).toBe(true);
      await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('commit', 1);
      await sql.prepare('UPDATE n SET v = v + 1 WHERE k = ?').run('commit');
      return 'done';
    });
    expect(out).toBe('done');
    expect(sql.inTx()).toBe(false);
    expect(await count(sql, 'commit')).toBe(2);
  });

  it('rolls back everything on an error, and rethrows it', async () => {
    await expect(
      sql.tx(async () => {
        await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('rollback', 1);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await count(sql, 'rollback')).toBeUndefined();
  });

  it('a tx inside a tx joins it: an error in the outer one undoes the inner one too', async () => {
    await expect(
      sql.tx(async () => {
        await sql.tx(async () => {
          await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('nested', 1);
        });
        // joined, so the inner write is visible here, uncommitted
        expect(await count(sql, 'nested')).toBe(1);
        throw new Error('outer fails');
      }),
    ).rejects.toThrow('outer fails');
    expect(await count(sql, 'nested')).toBeUndefined();
  });

  it('a tx inside a tx is a savepoint: a failure inside it undoes its own writes only, and the outer one goes on and commits', async () => {
    await sql.tx(async () => {
      await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('outer-before', 1);
      await expect(
        sql.tx(async () => {
          await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('inner', 1);
          await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('outer-before', 2); // duplicate key
        }),
      ).rejects.toThrow(/duplicate key/);
      // without the savepoint PostgreSQL would refuse this: "current transaction is aborted"
      await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('outer-after', 1);
    });
    expect([await count(sql, 'outer-before'), await count(sql, 'inner'), await count(sql, 'outer-after')]).toEqual([1, undefined, 1]);
  });

  it('the transaction follows its async call chain: another chain sees nothing of it until it commits, and waits to write', async () => {
    const inside = gate();
    const release = gate();
    const order: string[] = [];
    const a = sql.tx(async () => {
      await sql.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('chain', 1);
      await (async () => {
        await sleep(1);
        // a deeper call in the same chain still runs in the transaction
        expect(sql.inTx()).toBe(true);
        expect(await count(sql, 'chain')).toBe(1);
      })();
      inside.open();
      await release.wait;
      order.push('a commits');
    });
    await inside.wait;
    // chain B, outside any transaction: reads the committed state only
    expect(sql.inTx()).toBe(false);
    expect(await count(sql, 'chain')).toBeUndefined();
    const b = sql.tx(async () => {
      order.push('b writes');
      await sql.prepare('UPDATE n SET v = v * 10 WHERE k = ?').run('chain');
    });
    await sleep(100);
    expect(order).toEqual([]); // B waits for the write lock A holds
    release.open();
    await Promise.all([a, b]);
    expect(order).toEqual(['a commits', 'b writes']);
    expect(await count(sql, 'chain')).toBe(10);
  });

  it('serializes write transactions across two pools (two servers): read-modify-write loses no update', async () => {
    const other = await open(url);
    await sql.prepare('INSERT INTO n (k, v) VALUES (?, 0)').run('counter');
    const bump = (s: PgSql) =>
      s.tx(async () => {
        const v = (await count(s, 'counter')) as number;
        await sleep(Math.random() * 3);
        await s.prepare('UPDATE n SET v = ? WHERE k = ?').run(v + 1, 'counter');
      });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 ? sql : other)));
    expect(await count(sql, 'counter')).toBe(40);
  });

  it('a transaction whose connection dies fails, and the pool hands out a working connection afterwards', async () => {
    const small = await open(url, { max: 1 });
    await expect(
      small.tx(async () => {
        const { pid } = (await small.prepare<[], { pid: number }>('SELECT pg_backend_pid() AS pid').get()) as { pid: number };
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        await admin.end();
        await small.prepare('SELECT 1').get();
      }),
    ).rejects.toThrow();
    expect(await small.prepare('SELECT 2 AS two').get()).toEqual({ two: 2 });
    await small.tx(async () => {
      await small.prepare('INSERT INTO n (k, v) VALUES (?, ?)').run('after-death', 1);
    });
    expect(await count(sql, 'after-death')).toBe(1);
  });
});

describe('the operations log and the write lock', () => {
  let sql: PgSql;
  beforeAll(async () => {
    sql = await open(await freshDatabase());
  });
  const append = (seq: number) =>
    sql.prepare('INSERT INTO operations (seq, ts, kind, message, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)').run(seq, 1000 + seq, 'note', `entry ${seq}`, `h${seq - 1}`, `h${seq}`);

  it('appends, and its head row follows the last entry', async () => {
    await sql.tx(async () => {
      await append(1);
      await append(2);
    });
    expect(await sql.prepare('SELECT id, seq, hash FROM operations_head').all()).toEqual([{ id: 1, seq: 2, hash: 'h2' }]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE of operations, and changes nothing', async () => {
    await expect(sql.prepare("UPDATE operations SET message = 'rewritten' WHERE seq = 1").run()).rejects.toThrow(/operations is append-only/);
    await expect(sql.prepare('DELETE FROM operations WHERE seq = 2').run()).rejects.toThrow(/operations is append-only/);
    await expect(sql.exec('TRUNCATE operations')).rejects.toThrow(/operations is append-only/);
    expect(await sql.prepare('SELECT seq, message FROM operations ORDER BY seq').all()).toEqual([
      { seq: 1, message: 'entry 1' },
      { seq: 2, message: 'entry 2' },
    ]);
  });

  it('the write-lock row cannot be deleted or truncated away, so transactions keep serializing', async () => {
    await expect(sql.prepare('DELETE FROM oplog_head').run()).rejects.toThrow(/write lock/);
    await expect(sql.exec('TRUNCATE oplog_head')).rejects.toThrow(/write lock/);
    await expect(sql.prepare('UPDATE oplog_head SET id = 2').run()).rejects.toThrow(/write lock/);
    expect(await sql.prepare('SELECT id FROM oplog_head').all()).toEqual([{ id: 1 }]);
  });

  it('a database whose write-lock row is gone anyway refuses every write transaction', async () => {
    const url = await freshDatabase();
    const broken = await open(url);
    await broken.exec('ALTER TABLE oplog_head DISABLE TRIGGER USER; DELETE FROM oplog_head');
    await expect(broken.tx(async () => 'never')).rejects.toThrow(/write-lock row oplog_head\(id = 1\) is missing/);
  });
});

describe('migrations', () => {
  it('two servers opening one fresh database together both succeed, and it holds one schema', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    expect(await a.prepare('SELECT id, version FROM factory_schema').all()).toEqual([{ id: 1, version: PG_SCHEMA_VERSION }]);
    expect(await b.prepare("SELECT count(*) AS n FROM pg_class WHERE relname = 'phases'").get()).toEqual({ n: 1 });
    expect(await b.prepare('SELECT id FROM oplog_head').all()).toEqual([{ id: 1 }]);
  });

  it('opening it again migrates nothing and keeps the data', async () => {
    const url = await freshDatabase();
    const a = await open(url);
    await a.prepare("INSERT INTO megas (key, title, created_at, updated_at) VALUES ('M-1', 'kept', 1, 1)").run();
    const b = await open(url);
    expect(await b.prepare('SELECT key, title FROM megas').all()).toEqual([{ key: 'M-1', title: 'kept' }]);
  });

  it('a database newer than the code is a SchemaTooNewError naming it, and nothing is changed', async () => {
    const url = await freshDatabase();
    const a = await open(url);
    await a.prepare('UPDATE factory_schema SET version = ?').run(PG_SCHEMA_VERSION + 5);
    const err = await openPg(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaTooNewError);
    expect((err as Error).message).toContain(`${a.where} is at schema version ${PG_SCHEMA_VERSION + 5}, newer than this factory-mcp knows (${PG_SCHEMA_VERSION})`);
    expect(await a.prepare('SELECT version FROM factory_schema').get()).toEqual({ version: PG_SCHEMA_VERSION + 5 });
  });
});

describe('opening a database that cannot be opened: one line naming host:port and database, never the password', () => {
  const fail = async (url: string, opts?: Parameters<typeof openPg>[1]) => {
    const err = await openPg(url, { connectTimeoutMs: 3000, ...opts }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabaseOpenError);
    const e = err as DatabaseOpenError;
    expect(e.message).not.toMatch(/\n/);
    return e;
  };

  it('a port nobody listens on', async () => {
    const e = await fail('postgres://postgres@127.0.0.1:1/factory');
    expect(e.message).toBe('cannot reach PostgreSQL at 127.0.0.1:1/factory: connection refused');
  });

  it('a host that does not exist', async () => {
    const e = await fail('postgres://postgres@nohost.invalid:5432/factory');
    expect(e.message).toBe('cannot reach PostgreSQL at nohost.invalid:5432/factory: unknown host "nohost.invalid"');
  });

  it('a database the server does not have', async () => {
    const port = new URL(pgAdminUrl()).port;
    const e = await fail(`postgres://postgres@127.0.0.1:${port}/no_such_db`);
    expect(e.message).toBe(`PostgreSQL at 127.0.0.1:${port} has no database "no_such_db" (create it first: createdb no_such_db)`);
  });

  it('a user the server does not know', async () => {
    const port = new URL(pgAdminUrl()).port;
    const e = await fail(`postgres://mallory@127.0.0.1:${port}/postgres`);
    expect(e.message).toBe(`PostgreSQL at 127.0.0.1:${port} rejected user "mallory": role "mallory" does not exist`);
  });

  it('a server that never answers: the connect timeout', async () => {
    // A listening socket that accepts and says nothing.
    const net = await import('node:net');
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const t0 = Date.now();
      const e = await fail(`postgres://postgres@127.0.0.1:${port}/factory`, { connectTimeoutMs: 300 });
      expect(e.message).toBe(`cannot reach PostgreSQL at 127.0.0.1:${port}/factory: no answer in time`);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      silent.close();
    }
  });

  it('a password in the URL (or PGPASSWORD) is in no message, stack, cause or property', async () => {
    const port = new URL(pgAdminUrl()).port;
    const secret = 'Sup3r-S3cret-pw';
    for (const [url, env] of [
      [`postgres://postgres:${secret}@127.0.0.1:1/factory`, {}],
      [`postgres://mallory:${secret}@127.0.0.1:${port}/postgres`, {}],
      [`postgres://postgres:${secret}@nohost.invalid/factory`, {}],
      [`postgres://postgres:${secret}@127.0.0.1:${port}/${secret}`, {}],
      [`postgres://postgres@127.0.0.1:1/factory`, { PGPASSWORD: secret }],
    ] as const) {
      const e = await fail(url, { env });
      const seen = [e.message, e.stack, String(e.cause ?? ''), JSON.stringify(e), JSON.stringify(Object.getOwnPropertyDescriptors(e))].join(' ');
      expect(seen).not.toContain(secret);
      expect(e.message).toMatch(/PostgreSQL at /);
    }
  });

  it('where never carries the password', async () => {
    const url = new URL(await freshDatabase());
    url.password = 'never-shown';
    const sql = await open(url.toString());
    expect(sql.where).not.toContain('never-shown');
    expect(sql.where).toBe(`postgres://postgres@127.0.0.1:${url.port}${url.pathname}`);
  });

  it('a URL that is not a postgres:// URL', async () => {
    expect((await fail('mysql://root@127.0.0.1/x')).message).toMatch(/expected postgres:\/\//);
    expect((await fail('postgres://postgres@127.0.0.1/x?sslmode=bogus')).message).toMatch(/unknown sslmode "bogus"/);
  });
});
