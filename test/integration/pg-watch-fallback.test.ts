import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store.js';
import { freshDatabase, pgAdminUrl, pgRows } from '../helpers/postgres.js';

/** The change watcher on PostgreSQL when LISTEN cannot connect: it polls instead, and nothing crashes. */

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => {})));
});

describe('ChangeWatcher on PostgreSQL', () => {
  it('a LISTEN connection refused (database out of connections) falls back to polling: changes still arrive, the process lives', async () => {
    const su = await freshDatabase();
    const db = new URL(su).pathname.slice(1);
    // A role of its own: connection limits do not bind a superuser.
    const role = `r_${db}`.slice(0, 60);
    await pgRows(pgAdminUrl(), `CREATE ROLE "${role}" LOGIN; ALTER DATABASE "${db}" OWNER TO "${role}"`);
    await pgRows(su, `ALTER SCHEMA public OWNER TO "${role}"`);
    const u = new URL(su);
    u.username = role;
    const url = u.toString();
    const a = await Store.open(url, { leaseSeconds: 60 });
    const b = await Store.open(url, { leaseSeconds: 60 });
    stores.push(a, b);
    await b.operations.lastSeq(); // b's pool holds a connection it can write with
    await a.operations.lastSeq();
    // No new connection to this database from now on: a's LISTEN connection is refused.
    await pgRows(pgAdminUrl(), `ALTER DATABASE "${db}" CONNECTION LIMIT 0`);
    try {
      const seen: number[] = [];
      const off = a.watch.on((seq) => seen.push(seq));
      await new Promise((r) => setTimeout(r, 300)); // the refused LISTEN settles; polling starts
      await b.tx(() => b.operations.append(Date.now(), { kind: 'note', message: 'from b' }));
      const end = Date.now() + 3000;
      while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      off();
      expect(seen.length, 'the change made through b reached a by polling').toBeGreaterThan(0);
      expect(seen.at(-1)).toBe(await b.operations.lastSeq());
    } finally {
      await pgRows(pgAdminUrl(), `ALTER DATABASE "${db}" CONNECTION LIMIT -1`);
    }
  });
});
