import type { Db } from './db.js';
import type { Statement } from 'better-sqlite3';
import { redact } from './secrets.js';
import { GENESIS_HASH, HASHED_FIELDS, OPERATION_COLUMNS, hashValues, verifyChain, type ChainProblem, type OperationRow, type StoredEntry } from './oplog.js';

/** An entry as read: its fields with `data` parsed, and its hash. */
export type Operation = Omit<StoredEntry, 'data'> & { data: unknown; hash: string };

export interface NewOperation {
  instance?: string | null;
  kind: string;
  mega?: string | null;
  phase?: string | null;
  message: string;
  data?: unknown;
}

const COLUMN_LIST = OPERATION_COLUMNS.join(', ');
/** Positions in a raw (array) row; the hashed fields come first, in order, then the links. */
const SEQ_AT = OPERATION_COLUMNS.indexOf('seq');
const PREV_AT = OPERATION_COLUMNS.indexOf('prev_hash');
const HASH_AT = OPERATION_COLUMNS.indexOf('hash');

/**
 * The append-only, hash-chained operations log. `append` must run inside the caller's write
 * transaction so that the entry and the change it records commit together.
 */
export class OperationsStore {
  private readonly last;
  private readonly insert;
  private readonly tail;

  constructor(private readonly db: Db) {
    this.last = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM operations ORDER BY seq DESC LIMIT 1');
    this.insert = db.prepare<unknown[]>(`INSERT INTO operations (${COLUMN_LIST}) VALUES (${OPERATION_COLUMNS.map(() => '?').join(',')})`);
    this.tail = db.prepare<[number], OperationRow>('SELECT * FROM operations ORDER BY seq DESC LIMIT ?');
  }

  append(ts: number, op: NewOperation): number {
    const prev = this.last.get();
    const seq = (prev?.seq ?? 0) + 1;
    const prevHash = prev?.hash ?? GENESIS_HASH;
    const e: StoredEntry = {
      seq,
      ts,
      instance: op.instance ?? null,
      kind: op.kind,
      mega: op.mega ?? null,
      phase: op.phase ?? null,
      // No secret value the server holds is ever written to the log (its hash covers the redacted text).
      message: redact(op.message),
      data: op.data === undefined ? null : redact(JSON.stringify(op.data)),
    };
    const values = HASHED_FIELDS.map((f) => e[f]);
    this.insert.run(...values, prevHash, hashValues(prevHash, values));
    return seq;
  }

  recent(limit: number): Operation[] {
    return this.tail.all(limit).reverse().map(toOperation);
  }

  private hasStmt: Statement<[string, string], { one: number }> | undefined;

  /** Whether `instance` has logged an entry of `kind` (e.g. its SESSION-START). */
  has(instance: string, kind: string): boolean {
    this.hasStmt ??= this.db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM operations WHERE instance = ? AND kind = ? LIMIT 1');
    return this.hasStmt.get(instance, kind) !== undefined;
  }

  lastSeq(): number {
    return this.last.get()?.seq ?? 0;
  }

  /** Entries after `seq`, oldest first (kinds only: the resource watcher decides what changed). */
  kindsAfter(seq: number): { seq: number; kind: string; mega: string | null }[] {
    this.kindsAfterStmt ??= this.db.prepare<[number], { seq: number; kind: string; mega: string | null }>('SELECT seq, kind, mega FROM operations WHERE seq > ? ORDER BY seq');
    return this.kindsAfterStmt.all(seq);
  }

  private kindsAfterStmt: Statement<[number], { seq: number; kind: string; mega: string | null }> | undefined;

  /** Every entry, oldest first, streamed (export, log). */
  *iterate(): Generator<Operation> {
    for (const r of this.db.prepare<[], OperationRow>('SELECT * FROM operations ORDER BY seq').iterate()) yield toOperation(r);
  }

  /**
   * Recomputes the whole chain, streaming rows (one hash per entry). Names the first entry that
   * was edited, deleted or inserted behind the triggers' back.
   */
  verify(): { ok: boolean; entries: number; problem: ChainProblem | null } {
    // Raw rows, hashed straight from their leading values: about twice as fast as better-sqlite3's keyed rows.
    const stmt = this.db.prepare(`SELECT ${COLUMN_LIST} FROM operations ORDER BY seq`).raw(true);
    const rows = (function* () {
      for (const r of stmt.iterate() as IterableIterator<unknown[]>) {
        yield { seq: r[SEQ_AT] as number, prev_hash: r[PREV_AT] as string, hash: r[HASH_AT] as string, values: r.slice(0, PREV_AT) };
      }
    })();
    const head = this.db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM operations_head WHERE id = 1').get();
    const r = verifyChain(rows, GENESIS_HASH, (prev, row) => hashValues(prev, row.values), head);
    return { ok: r.problem === null, ...r };
  }
}

export function toOperation(r: OperationRow): Operation {
  const out: Record<string, unknown> = {};
  for (const f of HASHED_FIELDS) out[f] = r[f];
  out.data = r.data === null ? null : JSON.parse(r.data);
  out.hash = r.hash;
  return out as Operation;
}
