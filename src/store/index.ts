import { openDb, type Db } from './db.js';
import { ChangesStore } from './changes.js';
import { OperationsStore } from './operations.js';
import { PhasesStore } from './phases.js';
import { SessionsStore } from './sessions.js';

/**
 * Everything the tools can read or write, behind one object. A PostgreSQL store would offer
 * the same methods; tools never see SQL.
 */
export class Store {
  readonly operations: OperationsStore;
  readonly sessions: SessionsStore;
  readonly phases: PhasesStore;
  readonly changes: ChangesStore;

  constructor(
    readonly db: Db,
    opts: { leaseSeconds: number },
  ) {
    this.operations = new OperationsStore(db);
    this.sessions = new SessionsStore(db);
    this.phases = new PhasesStore(db, this.operations, this.sessions, opts.leaseSeconds);
    this.changes = new ChangesStore(db, this.operations, this.phases);
  }

  static open(file: string, opts: { leaseSeconds: number; busyTimeoutMs?: number }): Store {
    return new Store(openDb(file, opts), opts);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
