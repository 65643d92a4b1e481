import os from 'node:os';
import type { Sql, Stmt } from '../core/sql.js';
import { instanceId } from '../core/ids.js';
import type { Liveness } from '../phases/lease.js';
import type { ServersStore } from './servers.js';
import { ownerState, type OwnerState } from './domain.js';

export interface SessionRow {
  instance: string;
  agent: string | null;
  transport: string;
  host: string;
  pid: number | null;
  started_at: number;
  last_seen_at: number;
  disconnected_at: number | null;
  ended_at: number | null;
  summary: string | null;
  adopted_by: string | null;
  adopted_at: number | null;
  server_id: string | null;
}

export interface NewSession {
  agent?: string | null;
  transport: 'stdio' | 'http' | 'memory' | 'cli';
  /** The process that owns the session, when liveness can be judged by it (stdio). */
  pid?: number | null;
  /** The server process (servers table) the session lives in. */
  server_id?: string | null;
}

/** Session rows: one per server session, each with a unique `t4821`-style instance id. */
export class SessionsStore {
  private readonly insertStmt;
  private readonly byInstance;
  private readonly seen;
  readonly host = os.hostname();

  constructor(
    private readonly sql: Sql,
    private readonly servers?: ServersStore,
    private readonly clock: () => number = Date.now,
  ) {
    this.insertStmt = sql.prepare('INSERT INTO sessions (instance, agent, transport, host, pid, started_at, last_seen_at, server_id) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING');
    this.byInstance = sql.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE instance = ?');
    this.seen = sql.prepare('UPDATE sessions SET last_seen_at = ? WHERE instance = ?');
  }

  /** Creates a session with a fresh instance id; call inside a write transaction. */
  async create(s: NewSession, now: number, random: () => number = Math.random): Promise<SessionRow> {
    const id = await this.reserve(random);
    await this.insert(id, s, now);
    return (await this.get(id)) as SessionRow;
  }

  /** A fresh instance id, not yet taken; its row is written later by `insert` (see Session). */
  async reserve(random: () => number = Math.random): Promise<string> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const id = instanceId(random, 4 + Math.floor(attempt / 20));
      if (!(await this.byInstance.get(id))) return id;
    }
    throw new Error('could not allocate a unique instance id');
  }

  /** Writes a reserved session's row; call inside a write transaction. */
  async insert(instance: string, s: NewSession, now: number): Promise<void> {
    if ((await this.insertStmt.run(instance, s.agent ?? null, s.transport, this.host, s.pid ?? null, now, now, s.server_id ?? null)).changes !== 1) {
      throw new Error(`instance id ${instance} was taken by another process meanwhile; try again`);
    }
  }

  get(instance: string): Promise<SessionRow | undefined> {
    return this.byInstance.get(instance);
  }

  /** Recent sessions, newest first. */
  list(limit = 100): Promise<SessionRow[]> {
    return this.sql.prepare<[number], SessionRow>('SELECT * FROM sessions ORDER BY started_at DESC LIMIT ?').all(limit);
  }

  async markSeen(instance: string, now: number): Promise<void> {
    await this.seen.run(now, instance);
  }

  async setAgent(instance: string, agent: string): Promise<void> {
    await this.sql.prepare('UPDATE sessions SET agent = ? WHERE instance = ?').run(agent, instance);
  }

  /** session_end: the session is over (its claims, if kept, go stale once their lease passes). */
  async end(instance: string, now: number, summary: string | null): Promise<void> {
    await this.sql.prepare('UPDATE sessions SET ended_at = ?, summary = ?, last_seen_at = ? WHERE instance = ?').run(now, summary, now, instance);
  }

  private unfinishedStmt: Stmt<[string], SessionRow> | undefined;

  /** Sessions that never ended and were not adopted, newest first: candidates for "interrupted". */
  unfinished(except: string): Promise<SessionRow[]> {
    this.unfinishedStmt ??= this.sql.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE ended_at IS NULL AND adopted_by IS NULL AND instance <> ? ORDER BY last_seen_at DESC');
    return this.unfinishedStmt.all(except);
  }

  /**
   * Sessions that ended with session_end but kept claims for a resume (parked), newest first;
   * the partial phases_owner index keeps this to the claimed rows.
   */
  parked(except: string): Promise<SessionRow[]> {
    this.parkedStmt ??= this.sql.prepare<[string], SessionRow>(
      'SELECT * FROM sessions WHERE instance IN (SELECT owner FROM phases WHERE owner IS NOT NULL) AND ended_at IS NOT NULL AND adopted_by IS NULL AND instance <> ? ORDER BY ended_at DESC',
    );
    return this.parkedStmt.all(except);
  }

  private parkedStmt: Stmt<[string], SessionRow> | undefined;

  /** Whether a claim's owner is live, parked or interrupted (see ownerState). */
  async ownerState(instance: string): Promise<OwnerState> {
    const s = await this.get(instance);
    return ownerState(s, s ? await this.liveness(instance) : 'dead');
  }

  /** Marks an interrupted session as taken over, so it is reported no more. */
  async markAdopted(instance: string, by: string, now: number): Promise<void> {
    await this.sql.prepare('UPDATE sessions SET adopted_by = ?, adopted_at = ? WHERE instance = ? AND adopted_by IS NULL').run(by, now, instance);
  }

  /** A CLI session's key, as its SHA-256 (src/cli/session.ts); call inside a write transaction. */
  async setKeyHash(instance: string, keyHash: string, now: number): Promise<void> {
    await this.sql.prepare('INSERT INTO session_keys (key_hash, instance, created_at) VALUES (?,?,?)').run(keyHash, instance, now);
  }

  /** The session whose key hashes to `keyHash`, if any. */
  byKeyHash(keyHash: string): Promise<SessionRow | undefined> {
    return this.sql.prepare<[string], SessionRow>('SELECT s.* FROM session_keys k JOIN sessions s ON s.instance = k.instance WHERE k.key_hash = ?').get(keyHash);
  }

  all(): Promise<SessionRow[]> {
    return this.sql.prepare<[], SessionRow>('SELECT * FROM sessions ORDER BY started_at, instance').all();
  }

  /** The client went away without session_end: the session counts as interrupted. */
  async markDisconnected(instance: string, now: number): Promise<void> {
    await this.sql.prepare('UPDATE sessions SET disconnected_at = ? WHERE instance = ? AND ended_at IS NULL').run(now, instance);
  }

  /**
   * Whether a session's owner still runs: an ended session is dead; a session of a process on
   * this host is alive exactly while that process runs; otherwise (another host, an HTTP
   * session) it cannot be known and the lease alone decides.
   */
  async liveness(instance: string): Promise<Liveness> {
    const s = await this.get(instance);
    if (!s) return 'dead';
    if (s.ended_at !== null) return 'dead';
    if (s.server_id !== null && this.servers) {
      // Its server process decides: gone → the session is gone. A live HTTP server says nothing
      // about its clients (the lease and the idle sweep do); a live stdio server is its one client.
      const server = await this.servers.liveness(s.server_id, this.clock());
      if (server === 'dead') return 'dead';
      if (server === 'alive') return s.transport === 'stdio' ? 'alive' : 'unknown';
    }
    if (s.pid === null || s.host !== this.host) return 'unknown';
    return processAlive(s.pid) ? 'alive' : 'dead';
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
