import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { checkPgSchema, migratePg } from './pg-migrations.js';
import type { RunResult, Sql, Stmt } from './sql.js';

/**
 * The PostgreSQL engine behind the `Sql` contract (src/core/sql.ts), on a `pg.Pool`. Statements are
 * written once for both engines: `?` and `@name` parameters become `$n`; BIGINT, NUMERIC and
 * BOOLEAN results come back as JS numbers (ms timestamps, counts, 0/1 — as SQLite gives them).
 * A transaction takes the store-wide write lock first (the `oplog_head` row), so write
 * transactions serialize across every server on the database exactly like SQLite's BEGIN IMMEDIATE.
 */

/** A PostgreSQL database could not be opened: one line naming host:port and database, never the password. */
export class DatabaseOpenError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'DatabaseOpenError';
    this.code = code;
  }
}

export interface PgOptions {
  /** How long connecting may take before it is an error (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a statement waits for a lock held by another writer before it fails (default 10 s, like SQLite's busy timeout). */
  lockTimeoutMs?: number;
  /** Connections in the pool (default 10). */
  max?: number;
  /** The environment to take PGPASSWORD / PGUSER from when the URL has none: ctx.env, never the process's own. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Skip the migration (a read-only server, or tests of the driver alone). */
  migrate?: boolean;
}

/** The PostgreSQL `Sql`, with what migrations need beside the contract. */
export interface PgSql extends Sql {
  readonly dialect: 'postgres';
  /**
   * A transaction WITHOUT the store's write lock, under `pg_advisory_xact_lock(key)`: for migrations,
   * which run before the lock row exists. Statements in `fn`'s call chain run in it.
   */
  lockedTx<T>(key: number, fn: () => Promise<T>): Promise<T>;
  listen(onChange: () => void): Promise<() => Promise<void>>;
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | undefined;
  ssl: pg.ClientConfig['ssl'];
  /** `postgres://user@host:port/db`, for messages. */
  where: string;
}

/** Reads a `postgres://` / `postgresql://` URL without consulting the process environment or ~/.pgpass. */
export function parsePgUrl(url: string, env: PgOptions['env'] = {}): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseOpenError('invalid PostgreSQL URL: expected postgres://user@host:port/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new DatabaseOpenError(`invalid PostgreSQL URL: the scheme is ${u.protocol.slice(0, 20)}, expected postgres://`);
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const host = u.searchParams.get('host') ?? (u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost');
  const port = Number(u.port || u.searchParams.get('port') || 5432);
  const user = dec(u.username) || env.PGUSER || 'postgres';
  const database = dec(u.pathname.replace(/^\//, '')) || user;
  const password = u.password ? dec(u.password) : env.PGPASSWORD || undefined;
  const mode = u.searchParams.get('sslmode') ?? (u.searchParams.get('ssl') === 'true' ? 'require' : 'disable');
  let ssl: pg.ClientConfig['ssl'];
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') ssl = false;
  else if (mode === 'require' || mode === 'no-verify') ssl = { rejectUnauthorized: false };
  else if (mode === 'verify-ca' || mode === 'verify-full') ssl = { rejectUnauthorized: true };
  else throw new DatabaseOpenError(`invalid PostgreSQL URL: unknown sslmode ${JSON.stringify(mode.slice(0, 20))} (disable, require, verify-full)`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { host, port, database, user, password, ssl, where: `postgres://${encodeURIComponent(user)}@${hostPart}:${port}/${encodeURIComponent(database)}` };
}

/**
 * A statement's text for PostgreSQL: `?` → `$1…$n`, and each `@name` → `$k` of its own, so a name used
 * in two places of different types (`lease_seconds = @lease`, `@lease * 1000`) is typed in each place
 * alone (one shared `$k` would be "inconsistent types deduced for parameter"); `names` maps an object argument.
 */
export interface Translated {
  text: string;
  /** The named parameter of each `$k`, in order (a name may repeat); undefined for positional statements. */
  names: string[] | undefined;
  /** How many `$n` the text holds. */
  count: number;
}

/**
 * Rewrites parameters outside string literals, quoted identifiers, comments and dollar-quoted
 * bodies. A statement uses `?` or `@name`, not both.
 */
export function translateParams(sql: string): Translated {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    let end = i + 1;
    if (c === "'" || c === '"') {
      end = sql.indexOf(c, i + 1);
      while (end !== -1 && sql[end + 1] === c) end = sql.indexOf(c, end + 2);
      end = end === -1 ? n : end + 1;
    } else if (c === '-' && next === '-') {
      end = sql.indexOf('\n', i);
      end = end === -1 ? n : end;
    } else if (c === '/' && next === '*') {
      end = sql.indexOf('*/', i + 2);
      end = end === -1 ? n : end + 2;
    } else if (c === '$' && /^\$[A-Za-z_]*\$/.test(sql.slice(i, i + 64))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i, i + 64))?.[0] as string;
      end = sql.indexOf(tag, i + tag.length);
      end = end === -1 ? n : end + tag.length;
    } else if (c === '?') {
      out += `$${++positional}`;
      i++;
      continue;
    } else if (c === '@' && next !== undefined && /[A-Za-z_]/.test(next)) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))?.[0] as string;
      names.push(name);
      out += `$${names.length}`;
      i += 1 + name.length;
      continue;
    }
    out += sql.slice(i, end);
    i = end;
  }
  if (positional && names.length) throw new Error(`a statement uses ? and @name parameters together: ${sql.slice(0, 120)}`);
  return { text: out, names: names.length ? names : undefined, count: positional || names.length };
}

/** Results as SQLite gives them: int8 / numeric as numbers (our values are ms timestamps and counts), booleans as 0/1. */
const PARSERS: Record<number, (v: string) => unknown> = {
  20: (v) => Number(v), // int8
  1700: (v) => Number(v), // numeric
  16: (v) => (v === 't' ? 1 : 0), // bool
};
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    return PARSERS[oid] ?? pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** What a value becomes on the wire: booleans as 0/1 (SQLite has no booleans; our 0/1 columns are INTEGER). */
function bind(v: unknown): unknown {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/** Rows fetched per round trip by `iterate`. */
const CURSOR_BATCH = 500;

/** The write lock every transaction takes first: the head row of the operations log. */
// READ COMMITTED named: a database whose default is REPEATABLE READ or SERIALIZABLE would otherwise fail
// claims with serialization errors (40001) where the lock already serializes every writer.
const WRITE_LOCK = 'BEGIN ISOLATION LEVEL READ COMMITTED; SELECT id FROM oplog_head WHERE id = 1 FOR UPDATE';

interface TxState {
  client: pg.PoolClient;
  /** Set when the transaction has ended: a statement still running in its call chain uses the pool. */
  done: boolean;
  /** Savepoints taken so far (their names). */
  savepoints: number;
}

/** Messages for the errors connecting can end in; never the password. */
function openError(e: unknown, t: Target): DatabaseOpenError {
  const err = e as { code?: string; message?: string };
  const code = err.code;
  const at = `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  const reach = (why: string) => `cannot reach PostgreSQL at ${at}/${t.database}: ${why}`;
  let msg: string;
  if (code === 'ECONNREFUSED') msg = reach('connection refused');
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') msg = reach(`unknown host ${JSON.stringify(t.host)}`);
  else if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(err.message ?? ''))
    msg = reach(code && !/^E?TIMEDOUT$/.test(code) ? code : 'no answer in time');
  else if (code === '28P01' || code === '28000') msg = `PostgreSQL at ${at} rejected user ${JSON.stringify(t.user)}: ${(err.message ?? 'authentication failed').replace(/ for user "[^"]*"/, '')}`;
  else if (code === '3D000') msg = `PostgreSQL at ${at} has no database ${JSON.stringify(t.database)} (create it first: createdb ${t.database})`;
  else msg = `cannot open PostgreSQL at ${at}/${t.database}: ${err.message ?? String(e)}`;
  msg = msg.replace(/[\r\n]+/g, ' ');
  if (t.password) msg = msg.split(t.password).join('***');
  return new DatabaseOpenError(msg, code);
}

class PgEngine implements PgSql {
  readonly dialect = 'postgres' as const;
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly als = new AsyncLocalStorage<TxState>();
  private readonly stmts = new Map<string, Stmt<unknown[], unknown>>();
  private named = 0;
  private cursors = 0;
  private readonly clientConfig: pg.ClientConfig;
  /** Who hears of commits that logged an operation (`listen`), and the one connection that LISTENs for them. */
  private readonly listeners = new Set<() => void>();
  private listener: pg.Client | null = null;
  private listening: Promise<void> | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly target: Target,
    opts: PgOptions,
  ) {
    this.where = target.where;
    const connectTimeout = opts.connectTimeoutMs ?? 5_000;
    const password = target.password;
    const config: pg.ClientConfig = {
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      // A function: pg then neither reads PGPASSWORD from the process nor ~/.pgpass, and the value is in no object dump.
      password: async () => password as string,
      ssl: target.ssl,
      application_name: 'factory-mcp',
      keepAlive: true,
      lock_timeout: opts.lockTimeoutMs ?? 10_000,
      // A server frozen inside a transaction would hold the write lock of every machine: cut it off.
      idle_in_transaction_session_timeout: 60_000,
      types,
    };
    // The connect timeout on each new connection only: waiting for a free pooled connection is not an error.
    this.clientConfig = { ...config, connectionTimeoutMillis: connectTimeout };
    const clientConfig = this.clientConfig;
    class Client extends pg.Client {
      constructor() {
        super(clientConfig);
      }
    }
    // allowExitOnIdle: idle pooled connections never keep a finished process alive.
    this.pool = new pg.Pool({ ...config, Client, max: opts.max ?? 10, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle connection the server dropped (restart, network) is removed from the pool; no crash.
    this.pool.on('error', () => {});
  }

  /** Connects once, so a bad URL fails at open with one clear line. */
  async connect(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      await this.pool.end().catch(() => {});
      throw openError(e, this.target);
    }
    client.release();
  }

  private runner(): pg.Pool | pg.PoolClient {
    const s = this.als.getStore();
    return s && !s.done ? s.client : this.pool;
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(text: string): Stmt<P, R> {
    const hit = this.stmts.get(text);
    if (hit) return hit as unknown as Stmt<P, R>;
    const t = translateParams(text);
    const name = `f${++this.named}`;
    const values = (params: unknown[]): unknown[] => {
      if (!t.names) {
        if (params.length !== t.count) throw new RangeError(`the statement takes ${t.count} parameter(s), got ${params.length}: ${text.slice(0, 120)}`);
        return params.map(bind);
      }
      const obj = params[0];
      if (params.length !== 1 || obj === null || typeof obj !== 'object') throw new TypeError(`the statement takes named parameters (one object): ${text.slice(0, 120)}`);
      return t.names.map((k) => {
        if (!(k in obj)) throw new RangeError(`missing named parameter "${k}": ${text.slice(0, 120)}`);
        return bind((obj as Record<string, unknown>)[k]);
      });
    };
    const query = (params: unknown[]) => this.runner().query({ name, text: t.text, values: values(params) });
    const stmt: Stmt<unknown[], unknown> = {
      get: async (...p) => (await query(p)).rows[0],
      all: async (...p) => (await query(p)).rows,
      run: async (...p): Promise<RunResult> => {
        const r = await query(p);
        // As on SQLite: a statement that only reads changed nothing.
        return { changes: r.command === 'SELECT' ? 0 : (r.rowCount ?? 0) };
      },
      iterate: (...p) => this.cursor(t.text, values(p)),
    };
    this.stmts.set(text, stmt);
    return stmt as unknown as Stmt<P, R>;
  }

  /**
   * Rows a batch at a time through a server-side cursor (never all in memory): in the caller's
   * transaction, or in a read-only one of its own on a pooled connection, ended (and the connection
   * returned) when the loop ends, however it ends.
   */
  private async *cursor(text: string, values: unknown[]): AsyncGenerator<unknown> {
    const outer = this.als.getStore();
    const own = !outer || outer.done;
    const client = own ? await this.pool.connect() : outer.client;
    const name = `fcur${++this.cursors}`;
    let finished = false;
    let broken = false;
    const onError = () => {
      broken = true;
    };
    if (own) client.on('error', onError);
    try {
      if (own) await client.query('BEGIN READ ONLY');
      await client.query({ text: `DECLARE ${name} NO SCROLL CURSOR FOR ${text}`, values });
      for (;;) {
        const batch = await client.query(`FETCH ${CURSOR_BATCH} FROM ${name}`);
        for (const row of batch.rows) yield row;
        if (batch.rows.length < CURSOR_BATCH) break;
      }
      finished = true;
    } finally {
      // A loop left early (break, an error) closes the cursor too.
      const end = own ? (finished ? 'COMMIT' : 'ROLLBACK') : `CLOSE ${name}`;
      await client.query(end).catch(() => {
        broken = true;
      });
      if (own) {
        client.off('error', onError);
        client.release(broken || undefined);
      }
    }
  }

  async exec(text: string): Promise<void> {
    await this.runner().query(text);
  }

  inTx(): boolean {
    const s = this.als.getStore();
    return !!s && !s.done;
  }

  tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.transaction(WRITE_LOCK, [], fn, (results) => {
      // The lock row is seeded by the migration and guarded by a trigger; without it nothing would serialize.
      const lock = Array.isArray(results) ? results[1] : undefined;
      if (lock?.rowCount !== 1) throw new Error(`${this.where}: the write-lock row oplog_head(id = 1) is missing; the schema is damaged (writes refused)`);
    });
  }

  lockedTx<T>(key: number, fn: () => Promise<T>): Promise<T> {
    return this.transaction('BEGIN ISOLATION LEVEL READ COMMITTED', [key], fn, undefined, 'SELECT pg_advisory_xact_lock($1)');
  }

  private async transaction<T>(begin: string, args: unknown[], fn: () => Promise<T>, check?: (r: unknown) => void, after?: string): Promise<T> {
    const outer = this.als.getStore();
    if (outer && !outer.done) return this.savepoint(outer, fn);
    const client = await this.pool.connect();
    let broken = false;
    // The server may drop the connection while we hold it (restart, terminate): an error event, not a crash.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    const state: TxState = { client, done: false, savepoints: 0 };
    try {
      try {
        const begun = await client.query(begin); // (not inside check?.(…): an optional call skips its arguments)
        check?.(begun);
        if (after) await client.query(after, args);
        const result = await this.als.run(state, fn);
        state.done = true;
        await client.query('COMMIT');
        return result;
      } catch (e) {
        state.done = true;
        await client.query('ROLLBACK').catch(() => {
          broken = true; // the connection is gone or unusable: destroy it rather than pool it
        });
        throw e;
      }
    } finally {
      client.off('error', onError);
      client.release(broken || undefined);
    }
  }

  /**
   * A transaction inside another joins it, as a savepoint: when `fn` fails, only its own writes are
   * undone and the error goes on, so a caller that catches it can go on writing — as SQLite allows
   * after a failed statement, where PostgreSQL would refuse every later statement of the transaction.
   */
  private async savepoint<T>(tx: TxState, fn: () => Promise<T>): Promise<T> {
    const name = `sp${++tx.savepoints}`;
    await tx.client.query(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await tx.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (e) {
      if (!tx.done) await tx.client.query(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
      throw e;
    }
  }

  /**
   * Writers of other rows never block this statement (row locks, not SQLite's one write lock); one
   * that holds the row itself (a sweep of the servers table) would: then it gives up at once
   * (`lock_timeout` 1 ms, in a transaction of its own that takes no store lock) and answers false.
   */
  async tryRun<P extends unknown[]>(stmt: Stmt<P, unknown>, ...params: P): Promise<boolean> {
    if (this.inTx()) {
      await stmt.run(...params);
      return true;
    }
    try {
      await this.transaction("BEGIN; SET LOCAL lock_timeout = '1ms'", [], () => stmt.run(...params));
      return true;
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') return false; // lock_not_available
      throw e;
    }
  }

  /**
   * Calls `onChange` after every commit that logged an operation, on any server (the operations
   * table's trigger NOTIFYs `factory_changes`; PostgreSQL delivers it at commit). One connection
   * per Sql LISTENs; dropped, it reconnects with backoff and calls every listener once, as a change
   * may have been missed meanwhile. Resolves (to the unsubscribe) once LISTEN is in place.
   */
  async listen(onChange: () => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error(`${this.where} is closed`);
    this.listeners.add(onChange);
    try {
      await (this.listening ??= this.startListener(0));
    } catch (e) {
      // Not registered: the caller falls back to polling. The next listen() tries to connect afresh.
      this.listeners.delete(onChange);
      this.listening = null;
      throw e;
    }
    return async () => {
      this.listeners.delete(onChange);
      if (!this.listeners.size) await this.stopListener();
    };
  }

  private async startListener(attempt: number): Promise<void> {
    const client = new pg.Client(this.clientConfig);
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.listener === client) this.listener = null;
      client.end().catch(() => {});
      if (this.closed || !this.listeners.size) return;
      // Back off 100 ms, 200 ms … up to 5 s between attempts; the timer never keeps the process alive.
      const delay = Math.min(100 * 2 ** attempt, 5_000);
      this.reconnect = setTimeout(() => {
        this.reconnect = null;
        this.listening = this.startListener(attempt + 1).then(
          () => this.notifyAll(),
          () => {},
        );
      }, delay);
      this.reconnect.unref();
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', () => this.notifyAll());
    try {
      await client.connect();
      await client.query('LISTEN factory_changes');
    } catch (e) {
      drop();
      throw attempt === 0 ? openError(e, this.target) : e;
    }
    if (this.closed || !this.listeners.size) {
      dropped = true;
      await client.end().catch(() => {});
      return;
    }
    this.listener = client;
  }

  private notifyAll(): void {
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch {
        // one listener's failure is its own
      }
    }
  }

  private async stopListener(): Promise<void> {
    if (this.reconnect) clearTimeout(this.reconnect);
    this.reconnect = null;
    const pending = this.listening;
    this.listening = null;
    await pending?.catch(() => {});
    const client = this.listener;
    this.listener = null;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => {});
      await client.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.stopListener();
    await this.pool.end();
  }
}

/**
 * Opens a PostgreSQL database: connects at once (a bad host, credentials, database or an
 * unreachable server is a `DatabaseOpenError`, one line, no password) and migrates it.
 */
export async function openPg(url: string, opts: PgOptions = {}): Promise<PgSql> {
  const engine = new PgEngine(parsePgUrl(url, opts.env), opts);
  await engine.connect();
  try {
    await (opts.migrate !== false ? migratePg(engine) : checkPgSchema(engine));
  } catch (e) {
    await engine.close().catch(() => {});
    throw e;
  }
  return engine;
}
