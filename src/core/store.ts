import { openDb, openDbReadOnly, writeTx, type Db, type Tx } from './db.js';
import type { Sql } from './sql.js';
import { isPostgresUrl } from './config.js';
import { SqliteSql } from './sqlite.js';
import { ChangeWatcher } from './watch.js';
import { CouncilsStore } from '../council/store.js';
import { DodStore } from '../dod/store.js';
import { ChangesStore } from '../changes/store.js';
import { OperationsStore } from './operations.js';
import { PhasesStore } from '../phases/store.js';
import { PhasesService } from '../phases/service.js';
import { SessionsStore } from '../sessions/store.js';
import { ServerProcess, ServersStore } from '../sessions/servers.js';
import { MetricsStore } from './metrics.js';
import { AcksStore } from '../governance/acks.js';
import { OutboxStore } from './outbox.js';
import { CheckpointsStore } from '../sessions/checkpoints.js';
import { SessionsService } from '../sessions/service.js';
import { MemoryStore } from '../sessions/memory.js';
import { Importer } from '../transfer/import.js';
import { UsageStore } from '../governance/usage.js';
import { Reservations } from '../pipeline/reservations.js';
import { ReservationsStore } from '../pipeline/reservations-store.js';

/**
 * Everything the tools can read or write, behind one object. A PostgreSQL store would offer
 * the same methods; tools never see SQL.
 */
export class Store {
  readonly operations: OperationsStore;
  readonly sessions: SessionsStore;
  readonly servers: ServersStore;
  /** This process as a server on the database (stdio and HTTP servers; not CLI commands or read-only servers). */
  server: ServerProcess | null = null;
  readonly phases: PhasesService;
  readonly metrics: MetricsStore;
  readonly acks: AcksStore;
  readonly councils: CouncilsStore;
  readonly checkpoints: CheckpointsStore;
  readonly memory: MemoryStore;
  readonly usage: UsageStore;
  /** The sessions service (session_start/end, resume, checkpoints, memory, log entries, usage). */
  readonly sessionsService: SessionsService;
  readonly imports: Importer;
  readonly dod: DodStore;
  readonly changes: ChangesStore;
  readonly outbox: OutboxStore;

  /** Runs `fn` in one write transaction; the one way services write (stores keep their own statements). */
  readonly tx: Tx;

  constructor(
    readonly sql: Sql,
    opts: { leaseSeconds: number; deadAfterHeartbeats?: number; clock?: () => number },
  ) {
    this.tx = (fn) => writeTx(sql, fn);
    this.operations = new OperationsStore(sql);
    this.servers = new ServersStore(sql, opts.deadAfterHeartbeats);
    this.sessions = new SessionsStore(sql, this.servers, opts.clock);
    this.metrics = new MetricsStore(sql);
    this.acks = new AcksStore(sql, this.operations);
    this.councils = new CouncilsStore(sql, this.operations);
    this.checkpoints = new CheckpointsStore(sql);
    this.memory = new MemoryStore(sql);
    this.usage = new UsageStore(sql);
    this.phases = new PhasesService(this.tx, new PhasesStore(sql), this.operations, this.sessions, opts.leaseSeconds, (mega) => this.checkpoints.latestPerPhase(mega));
    this.phases.reservations = new Reservations(new ReservationsStore(sql), this.sessions);
    this.sessionsService = new SessionsService(this.tx, this);
    this.imports = new Importer(this.tx, this);
    this.dod = new DodStore(sql, this.operations);
    this.outbox = new OutboxStore(sql);
    this.changes = new ChangesStore(sql, this.operations, this.phases);
  }

  private watcher: ChangeWatcher | null = null;

  /** Notices commits by any process on this database (polls only while someone listens). */
  get watch(): ChangeWatcher {
    return (this.watcher ??= new ChangeWatcher(this.sql));
  }

  /** Registers this process as a server (on its first session, or now with `ensure()`) and heartbeats until close. */
  attachServer(opts: { transport: string; heartbeatMs: number; clock?: () => number }): ServerProcess {
    return (this.server ??= new ServerProcess(this.servers, opts));
  }

  /**
   * `target`: a SQLite file, or a `postgres://` / `postgresql://` URL (PostgreSQL: connected and
   * migrated at once; a bad URL is a DatabaseOpenError naming host:port and database, never the
   * password; `env` gives PGPASSWORD/PGUSER when the URL has none). `readOnly`: on SQLite an existing
   * database, opened read-only (no migration, no write of any kind); on PostgreSQL no migration
   * either (a read-only role works), and the schema must be this code's.
   */
  static async open(
    target: string,
    opts: { leaseSeconds: number; busyTimeoutMs?: number; readOnly?: boolean; deadAfterHeartbeats?: number; env?: Readonly<Record<string, string | undefined>> },
  ): Promise<Store> {
    if (isPostgresUrl(target)) {
      const { openPg } = await import('./pg.js'); // SQLite-only users never load pg
      return new Store(await openPg(target, { lockTimeoutMs: opts.busyTimeoutMs, env: opts.env, migrate: opts.readOnly !== true }), opts);
    }
    return Store.sqlite(opts.readOnly ? openDbReadOnly(target) : openDb(target, opts), opts);
  }

  /** A store on an open SQLite database (tests open `:memory:` ones). */
  static sqlite(db: Db, opts: { leaseSeconds: number; deadAfterHeartbeats?: number; clock?: () => number }): Store {
    return new Store(new SqliteSql(db, db.name), opts);
  }

  /** The raw SQLite database, for SQLite-only tests and tools (never used by the services). */
  get db(): Db {
    if (!(this.sql instanceof SqliteSql)) throw new Error(`the store at ${this.sql.where} is not SQLite`);
    return this.sql.db;
  }

  /** The store was closed (its database is no longer open). */
  closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher?.stop();
    if (this.server) {
      try {
        await this.server.stop(); // a clean shutdown: its sessions count as gone at once
      } catch {
        // the database went away under us: the pid check tells the others
      }
    }
    await this.sql.close();
  }
}
