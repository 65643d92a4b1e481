import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { isBusy } from './sqlite.js';
import type { Sql } from './sql.js';
export { DatabaseBusyError } from './sqlite.js';

export type Db = Database.Database;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export class SchemaTooNewError extends Error {
  constructor(file: string, found: number, known: number) {
    super(`database ${file} is at schema version ${found}, newer than this factory-mcp knows (${known}); ` + 'upgrade factory-mcp instead of opening it with an older one (nothing was changed)');
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Opens (creating if needed) the shared database: WAL so readers never block the writer,
 * a busy timeout so concurrent writers queue instead of failing, foreign keys on, and the
 * schema migrated to the current version inside one immediate transaction.
 */
export function openDb(file: string, opts: { busyTimeoutMs?: number } = {}): Db {
  if (file !== ':memory:') {
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true });
    ensureFactoryGitignore(dir);
  }
  const db = new Database(file);
  const busyMs = opts.busyTimeoutMs ?? 10_000;
  db.pragma(`busy_timeout = ${busyMs}`);
  // 1 KiB pages: a claim dirties about six pages (phase row, its indexes, the log entry), and
  // each is written whole to the WAL at commit; small pages cut a claim's commit cost by a third.
  // Only takes effect while the file is still empty (new databases).
  db.pragma('page_size = 1024');
  // Several processes may create the same new database at once; switching it to WAL takes a
  // lock that SQLite's busy handler does not wait for, so retry that step ourselves.
  if (file !== ':memory:') retryBusy(busyMs, () => db.pragma('journal_mode = WAL'));
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  retryBusy(busyMs, () => migrate(db, file));
  return db;
}

export class ReadOnlyOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadOnlyOpenError';
  }
}

/**
 * Opens an existing database for reading only (`--read-only`): no pragma that writes, no
 * migration, no file created. A database older than the code is refused (a writing server
 * migrates it). In WAL mode readers never wait for a writer. A WAL database in a directory this
 * process may not write, with no -shm file beside it, cannot be opened in place by SQLite: then
 * nobody can be writing it (a writer needs those files), and it is read from an in-memory copy.
 */
export function openDbReadOnly(file: string): Db {
  if (!fs.existsSync(file)) throw new ReadOnlyOpenError(`no database at ${file}: a read-only server reads an existing one (start a writing factory-mcp once to create it)`);
  let db = new Database(file, { readonly: true, fileMustExist: true });
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (e) {
    db.close();
    const code = (e as { code?: string }).code ?? '';
    if (!code.startsWith('SQLITE_READONLY') && !code.startsWith('SQLITE_CANTOPEN')) throw e;
    const bytes = fs.readFileSync(file);
    // A WAL header makes SQLite look for the -wal/-shm files; the copy is a plain rollback-journal image.
    if (bytes.length > 19 && bytes[18] === 2) bytes[18] = bytes[19] = 1;
    db = new Database(bytes, { readonly: true });
    version = db.pragma('user_version', { simple: true }) as number;
  }
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new SchemaTooNewError(file, version, SCHEMA_VERSION);
  }
  if (version < SCHEMA_VERSION) {
    db.close();
    throw new ReadOnlyOpenError(
      `database ${file} is at schema version ${version}, older than this factory-mcp (${SCHEMA_VERSION}); a read-only server does not migrate: run factory-mcp once without --read-only (nothing was changed)`,
    );
  }
  return db;
}

function retryBusy<T>(ms: number, fn: () => T): T {
  const deadline = Date.now() + ms;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      Atomics.wait(sleeper, 0, 0, delay * (0.5 + Math.random()));
    }
  }
}

function migrate(db: Db, file: string): void {
  const current = () => db.pragma('user_version', { simple: true }) as number;
  const before = current();
  if (before > SCHEMA_VERSION) {
    db.close();
    throw new SchemaTooNewError(file, before, SCHEMA_VERSION);
  }
  if (before === SCHEMA_VERSION) return;
  // Re-read the version inside the write lock: another process may have migrated meanwhile.
  db.transaction(() => {
    const v = current();
    if (v > SCHEMA_VERSION) throw new SchemaTooNewError(file, v, SCHEMA_VERSION);
    for (let i = v; i < SCHEMA_VERSION; i++) {
      db.exec(MIGRATIONS[i] as string);
      db.pragma(`user_version = ${i + 1}`);
    }
  }).immediate();
}

/** `.factory/` holds the database and its WAL files; they never belong in git. */
export function ensureFactoryGitignore(dir: string): void {
  if (path.basename(dir) !== '.factory') return;
  const gi = path.join(dir, '.gitignore');
  if (!fs.existsSync(gi)) fs.writeFileSync(gi, '# factory-mcp state: the database and its WAL files\n*\n');
}

const pendingWrites = new WeakMap<Sql, Map<object, () => Promise<void>>>();

/** Runs the deferred writes (inside the caller's transaction) and returns them, to put back on a rollback. */
async function takePending(pending: Map<object, () => Promise<void>>): Promise<[object, () => Promise<void>][]> {
  const ran = [...pending];
  pending.clear();
  for (const [, f] of ran) await f();
  return ran;
}

/**
 * Defers a write to the start of the next write transaction on `sql` (by `key`, once): a session's
 * row is written with the first write that needs it, so a refused call leaves nothing behind.
 */
export function beforeNextWrite(sql: Sql, key: object, fn: () => Promise<void>): void {
  let m = pendingWrites.get(sql);
  if (!m) pendingWrites.set(sql, (m = new Map()));
  m.set(key, fn);
}

/** Drops a deferred write that no transaction has taken yet; true when there was one. */
export function dropNextWrite(sql: Sql, key: object): boolean {
  return pendingWrites.get(sql)?.delete(key) ?? false;
}

/** A write transaction: what `store.tx()` is (all or nothing; nested calls in the same call chain join the outer one). */
export type Tx = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Runs `fn` in one write transaction of `sql`, with the writes deferred by `beforeNextWrite`
 * first: all of it is written, or none of it (a rolled-back deferred write waits for the next).
 * Nothing deferred (most calls): `fn` itself is the transaction's function, no frame around it.
 * Inside the chain's transaction `fn` runs in it as it is (no savepoint on PostgreSQL).
 */
export function writeTx<T>(sql: Sql, fn: () => Promise<T>): Promise<T> {
  if (sql.inTx()) {
    const pending = pendingWrites.get(sql);
    if (pending?.size) return takePending(pending).then(fn);
    try {
      return fn();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }
  return sql.tx(() => {
    const pending = pendingWrites.get(sql);
    return pending?.size ? withPending(pending, fn) : fn();
  });
}

/** A new transaction's deferred writes, then `fn`; when it throws they are put back for the next. */
async function withPending<T>(pending: Map<object, () => Promise<void>>, fn: () => Promise<T>): Promise<T> {
  const ran = await takePending(pending);
  try {
    return await fn();
  } catch (e) {
    for (const [k, f] of ran) if (!pending.has(k)) pending.set(k, f);
    throw e;
  }
}
