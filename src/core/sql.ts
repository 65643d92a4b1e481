/**
 * The one contract between the stores and a database engine: statements written once, run by
 * SQLite (embedded, one machine) or PostgreSQL (several machines). Every call returns a promise;
 * a statement inside `tx()` runs in that transaction, wherever it is called from (the transaction
 * follows the async call chain), and a `tx()` inside another joins it.
 *
 * SQL is written in the common subset of both dialects with `?` positional parameters or `@name`
 * named ones (an object argument). Engine-specific text is chosen with `sql.dialect`.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** A prepared statement: `P` its parameters (a tuple, or `[{…}]` for named ones), `R` a result row. */
export interface Stmt<P extends unknown[] = unknown[], R = unknown> {
  get(...params: P): Promise<R | undefined>;
  all(...params: P): Promise<R[]>;
  run(...params: P): Promise<RunResult>;
  /** Rows one by one (exports, the log's verification). */
  iterate(...params: P): AsyncIterable<R>;
}

export interface Sql {
  readonly dialect: Dialect;
  /** Where the data lives, for messages: a file path, or `postgres://user@host:port/db` (never a password). */
  readonly where: string;
  /** Prepares (and caches) a statement; preparing is cheap and may be done at construction. */
  prepare<P extends unknown[] = unknown[], R = unknown>(text: string): Stmt<P, R>;
  /** Runs statements with no parameters and no result (DDL, several statements). */
  exec(text: string): Promise<void>;
  /**
   * Runs `fn` in one write transaction: all of it is written or none of it. Inside another
   * transaction (in the same async call chain) it joins that one. Writers from other call
   * chains and other processes wait for it.
   */
  tx<T>(fn: () => Promise<T>): Promise<T>;
  /** One write that never waits for another writer: false when it would have had to (heartbeats). */
  tryRun<P extends unknown[]>(stmt: Stmt<P, unknown>, ...params: P): Promise<boolean>;
  /**
   * Engines that push change notifications (PostgreSQL's LISTEN/NOTIFY) call `onChange` after every
   * commit that logged an operation, made by any server on the database; resolves to the unsubscribe.
   * Absent on engines that are polled (SQLite).
   */
  listen?(onChange: () => void): Promise<() => Promise<void>>;
  /** True inside a transaction of this call chain. */
  inTx(): boolean;
  close(): Promise<void>;
}
