import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { writeTx } from '../core/db.js';
import type { Sql, Stmt } from '../core/sql.js';
import type { Liveness } from '../phases/lease.js';
import { serverLiveness } from './domain.js';
import { processAlive } from './store.js';

export interface ServerRow {
  id: string;
  host: string;
  pid: number;
  pid_start: number | null;
  transport: string;
  started_at: number;
  heartbeat_at: number;
  heartbeat_ms: number;
  stopped_at: number | null;
}

let bootMs: number | null | undefined;

/**
 * When a process started (ms since the epoch), on Linux: field 22 of /proc/<pid>/stat (clock ticks
 * after boot, USER_HZ = 100) plus the boot time from /proc/stat. A pid that runs with another start
 * time is another process (pid reuse). null where /proc is not there.
 */
export function processStartMs(pid: number): number | null {
  try {
    if (bootMs === undefined) {
      const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
      bootMs = m ? Number(m[1]) * 1000 : null;
    }
    if (bootMs === null) return null;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the name may hold spaces and parentheses
    const ticks = Number(fields[19]); // field 22; the fields after the name start at field 3
    return Number.isFinite(ticks) ? bootMs + ticks * 10 : null;
  } catch {
    return null;
  }
}

/** The server processes on this database: registration, heartbeats, clean stops, and who is gone. */
export class ServersStore {
  readonly host = os.hostname();
  private readonly byId: Stmt<[string], ServerRow>;
  private readonly beatStmt: Stmt<[number, string]>;

  constructor(
    private readonly sql: Sql,
    /** Another host's server is gone once its heartbeat is older than this many of its intervals. */
    private readonly deadAfterBeats = 3,
  ) {
    this.byId = sql.prepare<[string], ServerRow>('SELECT * FROM servers WHERE id = ?');
    this.beatStmt = sql.prepare<[number, string]>('UPDATE servers SET heartbeat_at = ? WHERE id = ? AND stopped_at IS NULL');
  }

  /** Records this process as a server; call inside a write transaction. */
  async register(transport: string, heartbeatMs: number, now: number): Promise<string> {
    const id = `s${crypto.randomBytes(6).toString('hex')}`;
    await this.sql
      .prepare('INSERT INTO servers (id, host, pid, pid_start, transport, started_at, heartbeat_at, heartbeat_ms) VALUES (?,?,?,?,?,?,?,?)')
      .run(id, this.host, process.pid, processStartMs(process.pid), transport, now, now, heartbeatMs);
    return id;
  }

  /** One heartbeat: a single UPDATE that never waits for the write lock (a missed beat is made up by the next). */
  beat(id: string, now: number): Promise<boolean> {
    return this.sql.tryRun(this.beatStmt, now, id);
  }

  async stop(id: string, now: number): Promise<void> {
    await writeTx(this.sql, () => this.sql.prepare('UPDATE servers SET stopped_at = ? WHERE id = ? AND stopped_at IS NULL').run(now, id));
  }

  get(id: string): Promise<ServerRow | undefined> {
    return this.byId.get(id);
  }

  /** alive, dead (stopped, its process gone or replaced, or its heartbeat too old), or unknown (no row). */
  async liveness(id: string, now: number): Promise<Liveness> {
    const s = await this.byId.get(id);
    if (!s) return 'unknown';
    const local = s.host === this.host;
    return serverLiveness(s, now, this.deadAfterBeats, local ? { alive: processAlive(s.pid), startMs: processStartMs(s.pid) } : null);
  }
}

/** This process as a server on one database: registered on first need, heartbeating until stopped. */
export class ServerProcess {
  private id: Promise<string> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly servers: ServersStore,
    private readonly opts: { transport: string; heartbeatMs: number; clock?: () => number },
  ) {}

  /**
   * The server's id, registering it (in the caller's write transaction, if any) the first time.
   * Concurrent first calls share one registration; a failed one is forgotten (the next call retries).
   */
  ensure(): Promise<string> {
    return (this.id ??= this.register().catch((e: unknown) => {
      this.id = null;
      throw e;
    }));
  }

  private async register(): Promise<string> {
    const clock = this.opts.clock ?? Date.now;
    const id = await this.servers.register(this.opts.transport, this.opts.heartbeatMs, clock());
    this.timer = setInterval(() => {
      // Fire and forget, as before: a closed or broken database fails a beat; the next beat (or the stop) tells.
      void this.servers.beat(id, clock()).catch(() => {});
    }, this.opts.heartbeatMs);
    this.timer.unref();
    return id;
  }

  /** A clean shutdown: the server is marked stopped, so its sessions count as gone at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.id !== null) await this.servers.stop(await this.id, (this.opts.clock ?? Date.now)());
  }
}
