import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Dialect, RunResult, Sql, Stmt } from './sql.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
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
 */
export class SqliteSql implements Sql {
  readonly dialect: Dialect = 'sqlite';
  private readonly cache = new Map<string, Stmt<unknown[], unknown>>();
  private readonly chain = new AsyncLocalStorage<SqliteSql>();
  /** Settles when the open transaction ends (null: none open). */
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
    return this.chain.getStore() === this;
  }

  /** Waits while another call chain's transaction is open (statements of the chain itself never wait). */
  private async turn(): Promise<void> {
    while (this.busy && this.chain.getStore() !== this) await this.busy;
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(text: string): Stmt<P, R> {
    const hit = this.cache.get(text);
    if (hit) return hit as unknown as Stmt<P, R>;
    const raw = this.db.prepare(text);
    const reads = raw.reader;
    // Statements of another call chain wait while a transaction is open (settled at once otherwise).
    const turn = async (): Promise<void> => {
      if (this.busy) await this.turn();
    };
    const stmt: Stmt<P, R> = {
      get: async (...params) => {
        await turn();
        return raw.get(...params) as R | undefined;
      },
      all: async (...params) => {
        await turn();
        return raw.all(...params) as R[];
      },
      run: async (...params) => {
        await turn();
        if (reads) {
          raw.all(...params);
          return { changes: 0 };
        }
        return { changes: raw.run(...params).changes } as RunResult;
      },
      async *iterate(...params) {
        await turn();
        for (const r of raw.iterate(...params)) yield r as R;
      },
    };
    this.cache.set(text, stmt as unknown as Stmt<unknown[], unknown>);
    return stmt;
  }

  async exec(text: string): Promise<void> {
    if (this.busy) await this.turn();
    this.db.exec(text);
  }

  async tryRun<P extends unknown[]>(stmt: Stmt<P, unknown>, ...params: P): Promise<boolean> {
    if (this.busy) await this.turn();
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
   * BEGIN IMMEDIATE, with the wait for the write lock done here rather than by SQLite's busy
   * handler, whose sleeps start at 1 ms and grow to 100 ms: with eight processes claiming at once
   * that turns a 0.1 ms critical section into a queue of millisecond naps. Here a loser retries
   * after 50 µs, backing off with jitter to 4 ms, until the busy timeout has passed.
   */
  async tx<T>(fn: () => Promise<T>): Promise<T> {
    if (this.chain.getStore() === this) return fn();
    while (this.busy) await this.busy;
    let done!: () => void;
    this.busy = new Promise<void>((r) => (done = r));
    try {
      this.lockForWrite();
      return await this.chain.run(this, async () => {
        try {
          const result = await fn();
          this.commit.run();
          return result;
        } catch (e) {
          if (this.db.inTransaction) this.rollback.run();
          throw e;
        }
      });
    } finally {
      this.busy = null;
      done();
    }
  }

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
