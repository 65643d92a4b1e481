import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

export class SchemaTooNewError extends Error {
  constructor(file: string, found: number, known: number) {
    super(
      `database ${file} is at schema version ${found}, newer than this factory-mcp knows (${known}); ` +
        'upgrade factory-mcp instead of opening it with an older one (nothing was changed)',
    );
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
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db, file);
  return db;
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
function ensureFactoryGitignore(dir: string): void {
  if (path.basename(dir) !== '.factory') return;
  const gi = path.join(dir, '.gitignore');
  if (!fs.existsSync(gi)) fs.writeFileSync(gi, '# factory-mcp state: the database and its WAL files\n*\n');
}

/** Runs `fn` in one BEGIN IMMEDIATE transaction: all of it is written, or none of it. */
export function writeTx<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
