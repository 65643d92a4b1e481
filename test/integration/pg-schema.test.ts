import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { openDb, type Db } from '../../src/core/db.js';
import { openPg, type PgSql } from '../../src/core/pg.js';
import { freshDatabase } from '../helpers/postgres.js';

/**
 * The two schemas stay equal: a fresh PostgreSQL database (src/core/pg-migrations.ts) and a fresh
 * SQLite one (src/core/migrations.ts) have the same tables, columns, NOT NULLs, defaults, types
 * (mapped), keys, foreign keys and indexes. A migration added to one list and not the other fails here.
 */

/** Tables only PostgreSQL has: the schema version (SQLite keeps it in PRAGMA user_version) and the write-lock row. */
const PG_ONLY = ['factory_schema', 'oplog_head'];

interface Column {
  name: string;
  notnull: boolean;
  type: string;
  dflt: string | null;
}
interface Index {
  table: string;
  columns: string[];
  unique: boolean;
  where: string | null;
}
interface Schema {
  tables: Record<string, Column[]>;
  indexes: Record<string, Index>;
  uniques: string[];
  keys: Record<string, string[]>;
  fks: string[];
}

/** SQLite's declared types as they are mapped (src/core/pg-migrations.ts). */
const TYPE_MAP: Record<string, string[]> = { INTEGER: ['bigint', 'integer'], REAL: ['double precision'], TEXT: ['text'], BLOB: ['bytea'] };

const norm = (s: string | null) =>
  s === null
    ? null
    : s
        .replace(/::[a-z ]+$/, '')
        .replace(/\s+/g, ' ')
        .trim();
/** A partial index's condition in one spelling: no parentheses, one space, lower-case keywords. */
const normWhere = (s: string | null) =>
  s === null
    ? null
    : s
        .replace(/::[a-z ]+/g, '')
        .replace(/[()]/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .toLowerCase();

function sqliteSchema(db: Db): Schema {
  const s: Schema = { tables: {}, indexes: {}, uniques: [], keys: {}, fks: [] };
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  for (const t of tables) {
    const cols = db.pragma(`table_info(${t})`) as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[];
    s.tables[t] = cols.map((c) => ({ name: c.name, notnull: c.notnull === 1 || c.pk > 0, type: c.type, dflt: norm(c.dflt_value) }));
    s.keys[t] = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    for (const ix of db.pragma(`index_list(${t})`) as { name: string; unique: number; origin: string }[]) {
      const columns = (db.pragma(`index_info(${ix.name})`) as { name: string }[]).map((c) => c.name);
      if (ix.origin === 'u') s.uniques.push(`${t}(${columns.join(',')})`);
      if (ix.origin !== 'c') continue;
      const sql = (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').pluck().get(ix.name) as string) ?? '';
      s.indexes[ix.name] = { table: t, columns, unique: ix.unique === 1, where: normWhere(/\bWHERE\b([\s\S]*)$/i.exec(sql)?.[1] ?? null) };
    }
    const fks = db.pragma(`foreign_key_list(${t})`) as { id: number; table: string; from: string; to: string; on_delete: string }[];
    for (const id of [...new Set(fks.map((f) => f.id))]) {
      const parts = fks.filter((f) => f.id === id);
      s.fks.push(`${t}(${parts.map((p) => p.from).join(',')}) -> ${parts[0]?.table}(${parts.map((p) => p.to).join(',')}) on delete ${parts[0]?.on_delete.toLowerCase()}`);
    }
  }
  s.uniques.sort();
  s.fks.sort();
  return s;
}

async function pgSchema(url: string): Promise<Schema> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const s: Schema = { tables: {}, indexes: {}, uniques: [], keys: {}, fks: [] };
    const cols = await c.query(
      `SELECT table_name AS t, column_name AS name, is_nullable AS nullable, data_type AS type, column_default AS dflt, is_identity AS ident
       FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    );
    for (const r of cols.rows) (s.tables[r.t] ??= []).push({ name: r.name, notnull: r.nullable === 'NO', type: r.type, dflt: norm(r.dflt) });
    const cons = await c.query(
      `SELECT con.conname, con.contype, cl.relname AS t, ref.relname AS reft, con.confdeltype,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS refcols
       FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace ns ON ns.oid = cl.relnamespace
       LEFT JOIN pg_class ref ON ref.oid = con.confrelid
       WHERE ns.nspname = 'public' AND con.contype IN ('p','u','f')`,
    );
    const DEL: Record<string, string> = { a: 'no action', c: 'cascade', n: 'set null', r: 'restrict', d: 'set default' };
    for (const r of cons.rows) {
      if (r.contype === 'p') s.keys[r.t] = r.cols;
      if (r.contype === 'u') s.uniques.push(`${r.t}(${r.cols.join(',')})`);
      if (r.contype === 'f') s.fks.push(`${r.t}(${r.cols.join(',')}) -> ${r.reft}(${r.refcols.join(',')}) on delete ${DEL[r.confdeltype]}`);
    }
    const ix = await c.query(
      `SELECT i.relname AS name, t.relname AS t, x.indisunique AS uniq, pg_get_expr(x.indpred, x.indrelid) AS pred,
              ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace ns ON ns.oid = t.relnamespace
       WHERE ns.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid)`,
    );
    for (const r of ix.rows) s.indexes[r.name] = { table: r.t, columns: r.cols, unique: r.uniq === 1 || r.uniq === true, where: normWhere(r.pred) };
    s.uniques.sort();
    s.fks.sort();
    return s;
  } finally {
    await c.end();
  }
}

describe('the PostgreSQL schema equals the SQLite schema', () => {
  let lite: Schema;
  let pgs: Schema;
  let sql: PgSql;
  beforeAll(async () => {
    const url = await freshDatabase();
    sql = await openPg(url);
    const db = openDb(':memory:');
    lite = sqliteSchema(db);
    db.close();
    pgs = await pgSchema(url);
  });
  afterAll(async () => {
    await sql?.close();
  });

  it('has the same tables (plus the PostgreSQL-only version and write-lock tables)', () => {
    expect(Object.keys(lite.tables).length).toBeGreaterThan(20);
    expect(Object.keys(pgs.tables).sort()).toEqual([...Object.keys(lite.tables), ...PG_ONLY].sort());
  });

  it('every table has the same columns in the same order, NOT NULL alike, defaults alike, types mapped', () => {
    for (const [t, cols] of Object.entries(lite.tables)) {
      const theirs = pgs.tables[t] ?? [];
      expect(
        theirs.map((c) => [c.name, c.notnull, c.dflt]),
        t,
      ).toEqual(cols.map((c) => [c.name, c.notnull, c.dflt]));
      cols.forEach((c, i) => expect(TYPE_MAP[c.type], `${t}.${c.name} ${c.type} → ${theirs[i]?.type}`).toContain(theirs[i]?.type));
    }
  });

  it('has the same primary keys, unique constraints and foreign keys', () => {
    const liteKeys = Object.fromEntries(Object.entries(lite.keys).filter(([, k]) => k.length));
    const pgKeys = Object.fromEntries(Object.entries(pgs.keys).filter(([t]) => !PG_ONLY.includes(t)));
    expect(pgKeys).toEqual(liteKeys);
    expect(pgs.uniques).toEqual(lite.uniques);
    expect(lite.fks.length).toBeGreaterThan(3);
    expect(pgs.fks).toEqual(lite.fks);
  });

  it('has the same indexes: names, columns, uniqueness and partial conditions', () => {
    expect(Object.keys(lite.indexes).length).toBeGreaterThan(15);
    expect(Object.keys(pgs.indexes).sort()).toEqual(Object.keys(lite.indexes).sort());
    for (const [name, ix] of Object.entries(lite.indexes)) expect(pgs.indexes[name], name).toEqual(ix);
  });

  it('text compares bytes on both engines, whatever the database locale: the same ORDER BY answers the same order', async () => {
    // A database whose own collation (ICU en-US) would sort 'a' < 'B' < 'é' < 'Z'
    const sql = await openPg(await freshDatabase(undefined, { icuLocale: 'en-US' }));
    onTestFinished(() => sql.close());
    expect(await sql.prepare("SELECT x FROM (VALUES ('B'), ('a')) v(x) ORDER BY x COLLATE \"default\"").all()).toEqual([{ x: 'a' }, { x: 'B' }]);
    const keys = ['b', 'B', 'a', 'A-10', 'A-9', 'é', 'z', '_x', 'Z'];
    const db = openDb(':memory:');
    const ins = db.prepare("INSERT INTO megas (key, title, created_at, updated_at) VALUES (?, 't', 0, 0)");
    for (const k of keys) {
      ins.run(k);
      await sql.prepare("INSERT INTO megas (key, title, created_at, updated_at) VALUES (?, 't', 0, 0)").run(k);
    }
    const lite = db.prepare('SELECT key FROM megas ORDER BY key').pluck().all();
    db.close();
    const theirs = (await sql.prepare<[], { key: string }>('SELECT key FROM megas ORDER BY key').all()).map((r) => r.key);
    expect(theirs).toEqual(lite);
    expect(theirs).toEqual(['A-10', 'A-9', 'B', 'Z', '_x', 'a', 'b', 'z', 'é']);
  });

  it('INTEGER 0/1 flags stay INTEGER; ms timestamps and counters are BIGINT', () => {
    const type = (t: string, c: string) => pgs.tables[t]?.find((x) => x.name === c)?.type;
    expect([type('dod_runs', 'passed'), type('dod_runs', 'partial'), type('dod_runs', 'cached')]).toEqual(['integer', 'integer', 'integer']);
    expect([type('phases', 'lease_expires_at'), type('phases', 'epoch'), type('operations', 'seq'), type('usage', 'tokens')]).toEqual(['bigint', 'bigint', 'bigint', 'bigint']);
  });
});
