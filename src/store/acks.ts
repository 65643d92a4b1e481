import type { Db } from './db.js';
import { writeTx } from './db.js';
import type { OperationsStore } from './operations.js';

export type AckKind = 'council' | 'change';

export interface Ack {
  kind: AckKind;
  ref: string;
  note: string | null;
  at: string;
}

/**
 * The human gate: a person acknowledges an Ask change or overrides a rejected council (from the
 * dashboard, with the server token). One acknowledgement per item; each is logged.
 */
export class AcksStore {
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly ops: OperationsStore,
  ) {
    this.q = {
      insert: db.prepare('INSERT OR IGNORE INTO acks (kind, ref, note, at) VALUES (?,?,?,?)'),
      get: db.prepare<[string, string], { kind: AckKind; ref: string; note: string | null; at: number }>('SELECT * FROM acks WHERE kind = ? AND ref = ?'),
    };
  }

  ack(kind: AckKind, ref: string, note: string | null, now: number, describe: string): { acknowledged: boolean; already: boolean } {
    return writeTx(this.db, () => {
      const r = this.q.insert.run(kind, ref, note, now);
      if (r.changes === 0) return { acknowledged: true, already: true };
      this.ops.append(now, { kind: 'ack', message: `a human acknowledged ${describe}${note ? `: ${note}` : ''}`, data: { kind, ref } });
      return { acknowledged: true, already: false };
    });
  }

  get(kind: AckKind, ref: string): Ack | undefined {
    const r = this.q.get.get(kind, ref);
    return r ? { ...r, at: new Date(r.at).toISOString() } : undefined;
  }
}
