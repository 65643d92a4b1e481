import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Dialect, RunResult, Sql, Stmt } from './sql.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** `fn()`'s promise, or a rejected one when it throws (a caller of a promise never sees a synchronous throw). */
function settle<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

export class DatabaseBusyError extends Error {
  constructor(ms: number) {
    super(`the database stayed locked by another process for ${ms} ms; try again`);
    this.name = 'DatabaseBusyError';
  }
}

/**
 * The SQLite engine behind the `Sql` contract: better-sqlite3 runs each statement synchronously,
 * so a promise here is already settled when returned. One connection per process; a transaction
 * belongs to the async call chain that opened it (AsyncLocalStorage), and any other chain's
 * statement waits until it ends, so no call sees another's uncommitted writes.
 *
 * The hot path (issue 14): a statement with no other chain's transaction open runs at once and
 * answers one settled promise (no microtask hop, no async frame, no closure). Each transaction
 * marks its chain with a token of its own, so a chain forked inside one and still running later is
 * never taken for a later transaction's. The AsyncLocalStorage stays enabled between transactions:
 * switching it off after each one (so that Node 20 runs no promise hooks outside them) measured
 * slower, 145 → 190 µs of CPU under the write lock per claim over a process's first 300 claims,
 * because each switch costs V8 its optimized promise code.
 */
export class SqliteSql implements Sql {
  readonly dialect: Dialect = 'sqlite';
  private readonly cache = new Map<string, Stmt<unknown[], unknown>>();
  private readonly chain = new AsyncLocalStorage<object>();
  /** The open transaction's token (null: none open), and a promise settled when it ends. */
  private open: object | null = null;
  private busy: Promise<void> | null = null;
  private readonly begin;
  private readonly commit;
  private readonly rollback;
  private readonly noWait;
  private readonly wait;
  private readonly waitMs: number;

  constructor(
    readonly db: Database.Database,
    readonly where: string,
  ) {
    this.waitMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.noWait = db.prepare('PRAGMA busy_timeout = 0');
    this.wait = db.prepare(`PRAGMA busy_timeout = ${this.waitMs}`);
  }

  inTx(): boolean {
    return this.open !== null && this.chain.getStore() === this.open;
  }

  /** Another call chain's transaction is open: this chain's statements wait for it. */
  private blocked(): boolean {
    return this.open !== null && this.chain.getStore() !== this.open;
  }

  /** Waits while another call chain's transaction is open (statements of the chain itself never wait). */
  private async turn(): Promise<void> {
    while (this.blocked()) await this.busy;
  }

  /**
   * Runs a statement now when no other chain's transaction is open, answering one settled promise
   * (no closure, no async frame: the hot path), else once it has ended — checked again at the
   * moment it runs: another chain's transaction may have opened in the microtask between the wait
   * ending and the statement running.
   */
  private step(raw: Database.Statement, how: 'get' | 'all' | 'run', params: unknown[]): Promise<unknown> {
    if (this.blocked()) return this.turn().then(() => this.step(raw, how, params));
    try {
      if (how === 'get') return Promise.resolve(raw.get(...params));
      if (how === 'all') return Promise.resolve(raw.all(...params));
      if (raw.reader) {
        raw.all(...params); // a read run for its effect (a PRAGMA that answers a row): nothing changed
        return Promise.resolve({ changes: 0 });
      }
      return Promise.resolve({ changes: raw.run(...params).changes });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /** Waits until no other chain's transaction is open, checked again after each wake-up (see `step`). */
  private async clear(): Promise<void> {
    do await this.turn();
    while (this.blocked());
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(text: string): Stmt<P, R> {
    const hit = this.cache.get(text);
    if (hit) return hit as unknown as Stmt<P, R>;
    const raw = this.db.prepare(text);
    const stmt: Stmt<P, R> = {
      get: (...params) => this.step(raw, 'get', params) as Promise<R | undefined>,
      all: (...params) => this.step(raw, 'all', params) as Promise<R[]>,
      run: (...params) => this.step(raw, 'run', params) as Promise<RunResult>,
      iterate: (...params) => this.rows(() => raw.iterate(...params) as IterableIterator<R>),
    };
    this.cache.set(text, stmt as unknown as Stmt<unknown[], unknown>);
    return stmt;
  }

  /** Rows one by one, read once no other chain's transaction is open. */
  private async *rows<R>(start: () => IterableIterator<R>): AsyncGenerator<R> {
    await this.clear();
    // Read whole, at once: between two rows yielded to an async consumer another chain may run a
    // statement, which better-sqlite3 refuses while an iterator is open on the connection (and which
    // could open a transaction whose uncommitted rows the iterator would then read).
    yield* [...start()];
  }

  exec(text: string): Promise<void> {
    if (this.blocked()) return this.turn().then(() => this.exec(text));
    try {
      this.db.exec(text);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  async tryRun<P extends unknown[]>(stmt: Stmt<P, unknown>, ...params: P): Promise<boolean> {
    await this.clear();
    if (this.db.inTransaction) {
      await stmt.run(...params);
      return true;
    }
    this.noWait.run();
    try {
      await stmt.run(...params);
      return true;
    } catch (e) {
      if (isBusy(e)) return false;
      throw e;
    } finally {
      this.wait.run();
    }
  }

  /**
   * Joins this chain's open transaction, else waits for another chain's to end and opens one:
   * BEGIN IMMEDIATE (see lockForWrite), `fn`, COMMIT; ROLLBACK when `fn` throws.
   */
  tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.open === null) return this.write(fn);
    if (this.chain.getStore() === this.open) return settle(fn);
    return this.turn().then(() => this.tx(fn));
  }

  private async write<T>(fn: () => Promise<T>): Promise<T> {
    const open = {};
    let done!: () => void;
    this.busy = new Promise<void>((r) => (done = r));
    this.open = open;
    try {
      this.lockForWrite();
      const result = await this.chain.run(open, fn);
      this.commit.run();
      return result;
    } catch (e) {
      if (this.db.inTransaction) this.rollback.run();
      throw e;
    } finally {
      this.open = null;
      this.busy = null;
      done();
    }
  }

  /**
   * BEGIN IMMEDIATE, with the wait for the write lock done here rather than by SQLite's busy
   * handler, whose sleeps start at 1 ms and grow to 100 ms: with eight processes claiming at once
   * that turns a 0.1 ms critical section into a queue of millisecond naps. Here a loser retries
   * after 50 µs, backing off with jitter to 4 ms, until the busy timeout has passed.
   */
  private lockForWrite(): void {
    const deadline = Date.now() + this.waitMs;
    let backoffUs = 50;
    this.noWait.run();
    try {
      for (;;) {
        try {
          this.begin.run();
          return;
        } catch (e) {
          if (!isBusy(e)) throw e;
          if (Date.now() >= deadline) throw new DatabaseBusyError(this.waitMs);
          Atomics.wait(sleeper, 0, 0, (backoffUs * (0.5 + Math.random())) / 1000);
          backoffUs = Math.min(backoffUs * 2, 4000);
        }
      }
    } finally {
      this.wait.run();
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
