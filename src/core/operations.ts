import type { Sql } from './sql.js';
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

/**
 * The append-only, hash-chained operations log. `append` must run inside the caller's write
 * transaction so that the entry and the change it records commit together.
 */
export class OperationsStore {
  private readonly last;
  private readonly insert;
  private readonly tail;
  private readonly hasStmt;
  private readonly kindsAfterStmt;

  constructor(private readonly sql: Sql) {
    this.last = sql.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM operations ORDER BY seq DESC LIMIT 1');
    this.insert = sql.prepare<unknown[]>(`INSERT INTO operations (${COLUMN_LIST}) VALUES (${OPERATION_COLUMNS.map(() => '?').join(',')})`);
    this.tail = sql.prepare<[number], OperationRow>('SELECT * FROM operations ORDER BY seq DESC LIMIT ?');
    this.hasStmt = sql.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM operations WHERE instance = ? AND kind = ? LIMIT 1');
    this.kindsAfterStmt = sql.prepare<[number], { seq: number; kind: string; mega: string | null }>('SELECT seq, kind, mega FROM operations WHERE seq > ? ORDER BY seq');
  }

  /** Appends an entry; call inside the write transaction whose change it records. */
  async append(ts: number, op: NewOperation): Promise<number> {
    const prev = await this.last.get();
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
    await this.insert.run(...values, prevHash, hashValues(prevHash, values));
    return seq;
  }

  async recent(limit: number): Promise<Operation[]> {
    return (await this.tail.all(limit)).reverse().map(toOperation);
  }

  /** Whether `instance` has logged an entry of `kind` (e.g. its SESSION-START). */
  async has(instance: string, kind: string): Promise<boolean> {
    return (await this.hasStmt.get(instance, kind)) !== undefined;
  }

  async lastSeq(): Promise<number> {
    return (await this.last.get())?.seq ?? 0;
  }

  /** Entries after `seq`, oldest first (kinds only: the resource watcher decides what changed). */
  kindsAfter(seq: number): Promise<{ seq: number; kind: string; mega: string | null }[]> {
    return this.kindsAfterStmt.all(seq);
  }

  /** Every entry, oldest first, streamed (export, log). */
  async *iterate(): AsyncGenerator<Operation> {
    for await (const r of this.sql.prepare<[], OperationRow>('SELECT * FROM operations ORDER BY seq').iterate()) yield toOperation(r);
  }

  /**
   * Recomputes the whole chain, streaming rows (one hash per entry). Names the first entry that
   * was edited, deleted or inserted behind the triggers' back.
   */
  async verify(): Promise<{ ok: boolean; entries: number; problem: ChainProblem | null }> {
    const stmt = this.sql.prepare<[], OperationRow>(`SELECT ${COLUMN_LIST} FROM operations ORDER BY seq`);
    const rows = (async function* () {
      for await (const r of stmt.iterate()) yield { seq: r.seq, prev_hash: r.prev_hash, hash: r.hash, values: HASHED_FIELDS.map((f) => r[f]) };
    })();
    const head = await this.sql.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM operations_head WHERE id = 1').get();
    const r = await verifyChain(rows, GENESIS_HASH, (prev, row) => hashValues(prev, row.values), head);
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
