import { openDb, type Db } from './db.js';
import { CheckpointsStore } from './checkpoints.js';
import { ContinuityStore } from './continuity.js';
import { MemoryStore } from './memory.js';
import { OperationsStore } from './operations.js';
import { PhasesStore } from './phases.js';
import { SessionsStore } from './sessions.js';
import { TransferStore } from './transfer.js';
import { UsageStore } from './usage.js';

/**
 * Everything the tools can read or write, behind one object. A PostgreSQL store would offer
 * the same methods; tools never see SQL.
 */
export class Store {
  readonly operations: OperationsStore;
  readonly sessions: SessionsStore;
  readonly phases: PhasesStore;
  readonly checkpoints: CheckpointsStore;
  readonly memory: MemoryStore;
  readonly usage: UsageStore;
  readonly continuity: ContinuityStore;
  readonly transfer: TransferStore;

  constructor(
    readonly db: Db,
    opts: { leaseSeconds: number },
  ) {
    this.operations = new OperationsStore(db);
    this.sessions = new SessionsStore(db);
    this.checkpoints = new CheckpointsStore(db);
    this.memory = new MemoryStore(db);
    this.usage = new UsageStore(db);
    this.phases = new PhasesStore(db, this.operations, this.sessions, opts.leaseSeconds, (mega) => this.checkpoints.latestPerPhase(mega));
    this.continuity = new ContinuityStore(db, this);
    this.transfer = new TransferStore(db, this);
  }

  static open(file: string, opts: { leaseSeconds: number; busyTimeoutMs?: number }): Store {
    return new Store(openDb(file, opts), opts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
