import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

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

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
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

const pendingWrites = new WeakMap<Db, Map<object, () => void>>();

/** Runs the deferred writes (inside the caller's transaction) and returns them, to put back on a rollback. */
function takePending(pending: Map<object, () => void>): [object, () => void][] {
  const ran = [...pending];
  pending.clear();
  for (const [, f] of ran) f();
  return ran;
}

/**
 * Defers a write to the start of the next write transaction on `db` (by `key`, once): a session's
 * row is written with the first write that needs it, so a refused call leaves nothing behind.
 */
export function beforeNextWrite(db: Db, key: object, fn: () => void): void {
  let m = pendingWrites.get(db);
  if (!m) pendingWrites.set(db, (m = new Map()));
  m.set(key, fn);
}

/** Drops a deferred write that no transaction has taken yet; true when there was one. */
export function dropNextWrite(db: Db, key: object): boolean {
  return pendingWrites.get(db)?.delete(key) ?? false;
}

interface TxStatements {
  begin: Database.Statement;
  commit: Database.Statement;
  rollback: Database.Statement;
  noWait: Database.Statement;
  wait: Database.Statement;
  waitMs: number;
}

const txStatements = new WeakMap<Db, TxStatements>();

function statementsFor(db: Db): TxStatements {
  let s = txStatements.get(db);
  if (!s) {
    const waitMs = db.pragma('busy_timeout', { simple: true }) as number;
    s = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      noWait: db.prepare('PRAGMA busy_timeout = 0'),
      wait: db.prepare(`PRAGMA busy_timeout = ${waitMs}`),
      waitMs,
    };
    txStatements.set(db, s);
  }
  return s;
}

/**
 * One autocommit write that never waits for the write lock: false when another process holds it
 * (heartbeats: a missed beat is made up by the next, and the event loop is never held).
 */
export function tryWrite(db: Db, fn: () => void): boolean {
  if (db.inTransaction) {
    fn();
    return true;
  }
  const s = statementsFor(db);
  s.noWait.run();
  try {
    fn();
    return true;
  } catch (e) {
    if (isBusy(e)) return false;
    throw e;
  } finally {
    s.wait.run();
  }
}

export class DatabaseBusyError extends Error {
  constructor(ms: number) {
    super(`the database stayed locked by another process for ${ms} ms; try again`);
    this.name = 'DatabaseBusyError';
  }
}

/**
 * Runs `fn` in one BEGIN IMMEDIATE transaction: all of it is written, or none of it. A call
 * inside another transaction joins it.
 *
 * Waiting for the write lock is done here rather than by SQLite's busy handler, whose sleeps
 * start at 1 ms and grow to 100 ms: with eight processes claiming at once that turns a 0.1 ms
 * critical section into a queue of millisecond naps. Here a loser retries after 50 µs, backing
 * off with jitter to 4 ms, until the configured busy timeout has passed.
 */
/** A write transaction: what `store.tx()` is (BEGIN IMMEDIATE, write-lock backoff, nested calls join the outer one). */
export type Tx = <T>(fn: () => T) => T;

export function writeTx<T>(db: Db, fn: () => T): T {
  const pending = pendingWrites.get(db);
  if (db.inTransaction) {
    if (pending?.size) takePending(pending);
    return fn();
  }
  const s = statementsFor(db);
  const deadline = Date.now() + s.waitMs;
  let backoffUs = 50;
  s.noWait.run();
  try {
    for (;;) {
      try {
        s.begin.run();
        break;
      } catch (e) {
        if (!isBusy(e)) throw e;
        if (Date.now() >= deadline) throw new DatabaseBusyError(s.waitMs);
        Atomics.wait(sleeper, 0, 0, (backoffUs * (0.5 + Math.random())) / 1000);
        backoffUs = Math.min(backoffUs * 2, 4000);
      }
    }
  } finally {
    s.wait.run();
  }
  try {
    // Writes deferred to the first transaction (a session's row): part of this one, so a
    // rollback undoes them too and they wait for the next.
    const ran = pending?.size ? takePending(pending) : [];
    try {
      const result = fn();
      s.commit.run();
      return result;
    } catch (e) {
      for (const [k, f] of ran) if (!pending?.has(k)) pending?.set(k, f);
      throw e;
    }
  } catch (e) {
    if (db.inTransaction) s.rollback.run();
    throw e;
  }
}
