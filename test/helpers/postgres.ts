import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import './postgres-server.js'; // the ProvidedContext keys

/**
 * The run's real PostgreSQL server (started once by test/helpers/postgres-server.ts, vitest
 * globalSetup): its admin URL, and a new empty database per test file or test.
 */
export function pgAdminUrl(): string {
  const url = inject('pgAdminUrl');
  if (!url) throw new Error(`no PostgreSQL server for the tests: ${inject('pgError') || 'the globalSetup did not run'}`);
  return url;
}

/**
 * Creates a new empty database and returns its `postgres://postgres@127.0.0.1:PORT/<name>` URL;
 * `icuLocale` (e.g. 'en-US') gives it that ICU collation instead of the cluster's C.
 */
export async function freshDatabase(name?: string, opts: { icuLocale?: string } = {}): Promise<string> {
  const db = name ?? `t_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(db)) throw new Error(`freshDatabase: ${JSON.stringify(db)} is not a plain lower-case identifier`);
  const admin = new pg.Client({ connectionString: pgAdminUrl() });
  await admin.connect();
  try {
    const locale = opts.icuLocale ? ` LOCALE_PROVIDER icu ICU_LOCALE ${pg.escapeLiteral(opts.icuLocale)} LOCALE 'C'` : '';
    await admin.query(`CREATE DATABASE ${db}${locale} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgAdminUrl());
  url.pathname = `/${db}`;
  return url.toString();
}

/** The rows of one query on `url`'s database, on a connection of its own (checks from outside the servers). */
export async function pgRows<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}
