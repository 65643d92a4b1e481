import fs from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, pgAdminUrl } from '../helpers/postgres.js';

// The test run's own PostgreSQL server (test/helpers/postgres-server.ts): real, loopback only, not root.
describe('the test PostgreSQL server', () => {
  const clients: pg.Client[] = [];
  const connect = async (url: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end()));
  });

  it('is PostgreSQL 15 listening on 127.0.0.1 only, run by a user other than root', async () => {
    const c = await connect(pgAdminUrl());
    const { rows } = await c.query(
      "SELECT pg_backend_pid() AS pid, current_setting('server_version_num')::int AS v, current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync, current_setting('max_connections')::int AS max",
    );
    expect(rows[0].v).toBeGreaterThanOrEqual(150000);
    expect(rows[0].listen).toBe('127.0.0.1');
    expect(rows[0].fsync).toBe('off');
    expect(rows[0].max).toBe(200);
    expect(new URL(pgAdminUrl()).hostname).toBe('127.0.0.1');
    const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${rows[0].pid}/status`, 'utf8'))?.[1];
    expect(Number(uid)).toBeGreaterThan(0);
  });

  it('freshDatabase gives each caller a new empty database of its own', async () => {
    const [a, b] = await Promise.all([freshDatabase(), freshDatabase()]);
    expect(a).not.toBe(b);
    const ca = await connect(a);
    const cb = await connect(b);
    await ca.query('CREATE TABLE t (x int)');
    const seen = await cb.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
    expect(seen.rows[0].n).toBe(0);
    expect((await ca.query('SELECT current_database() AS d')).rows[0].d).toBe(new URL(a).pathname.slice(1));
  });

  it('freshDatabase refuses a name that is not a plain identifier', async () => {
    await expect(freshDatabase('x; DROP DATABASE postgres')).rejects.toThrow(/not a plain lower-case identifier/);
  });
});
