import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/core/store.js';
import { ReadOnlyOpenError } from '../../src/core/db.js';
import { freshDatabase, pgRows } from '../helpers/postgres.js';

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => {})));
});

describe('a read-only store on PostgreSQL (--read-only, the pre-commit guard)', () => {
  it('neither migrates nor writes: a role that may only SELECT reads the board; a database with no schema is refused, unchanged', async () => {
    const url = await freshDatabase();
    const writer = await Store.open(url, { leaseSeconds: 60 });
    stores.push(writer);
    await writer.phases.plan('t1', { key: 'RO-1', title: 'read me', phases: [{ id: 1, name: 'one' }] }, Date.now());
    const db = new URL(url).pathname.slice(1);
    const role = `ro_${db}`.slice(0, 60);
    await pgRows(url, `CREATE ROLE "${role}" LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "${role}"`);
    const u = new URL(url);
    u.username = role;
    const reader = await Store.open(u.toString(), { leaseSeconds: 60, readOnly: true });
    stores.push(reader);
    expect((await reader.phases.boardPages(undefined)).map((m) => m.key)).toEqual(['RO-1']);

    const empty = await freshDatabase();
    await expect(Store.open(empty, { leaseSeconds: 60, readOnly: true })).rejects.toThrow(ReadOnlyOpenError);
    const tables = await pgRows<{ n: number }>(empty, "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables[0]?.n, 'nothing was created').toBe(0);
  });
});
