import { hash } from 'node:crypto';
import type { Db } from './db.js';
import type { Statement } from 'better-sqlite3';
import { redact } from './secrets.js';
import { verifyChain, type ChainProblem } from '../sessions/domain.js';

export interface Operation {
  seq: number;
  ts: number;
  instance: string | null;
  kind: string;
  mega: string | null;
  phase: string | null;
  message: string;
  data: unknown;
  hash: string;
}

export interface NewOperation {
  instance?: string | null;
  kind: string;
  mega?: string | null;
  phase?: string | null;
  message: string;
  data?: unknown;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of one entry covers every field and the previous entry's hash. */
export function operationHash(prev: string, e: { seq: number; ts: number; instance: string | null; kind: string; mega: string | null; phase: string | null; message: string; data: string | null }): string {
  // One-shot crypto.hash (Node ≥ 20.12): the same digest as createHash, 2-3× faster on short input (log --verify).
  return hash('sha256', JSON.stringify([prev, e.seq, e.ts, e.instance, e.kind, e.mega, e.phase, e.message, e.data]), 'hex');
}

interface Row {
  seq: number;
  ts: number;
  instance: string | null;
  kind: string;
  mega: string | null;
  phase: string | null;
  message: string;
  data: string | null;
  prev_hash: string;
  hash: string;
}

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
    this.insert = db.prepare(
      'INSERT INTO operations (seq, ts, instance, kind, mega, phase, message, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)',
    );
    this.tail = db.prepare<[number], Row>('SELECT * FROM operations ORDER BY seq DESC LIMIT ?');
  }

  append(ts: number, op: NewOperation): number {
    const prev = this.last.get();
    const seq = (prev?.seq ?? 0) + 1;
    const prevHash = prev?.hash ?? GENESIS_HASH;
    const e = {
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
    this.insert.run(e.seq, e.ts, e.instance, e.kind, e.mega, e.phase, e.message, e.data, prevHash, operationHash(prevHash, e));
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
    return this.db.prepare<[number], { seq: number; kind: string; mega: string | null }>('SELECT seq, kind, mega FROM operations WHERE seq > ? ORDER BY seq').all(seq);
  }

  /** Every entry, oldest first, streamed (export, log). */
  *iterate(): Generator<Operation> {
    for (const r of this.db.prepare<[], Row>('SELECT * FROM operations ORDER BY seq').iterate()) yield toOperation(r);
  }

  /**
   * Recomputes the whole chain, streaming rows (one hash per entry). Names the first entry that
   * was edited, deleted or inserted behind the triggers' back.
   */
  verify(): { ok: boolean; entries: number; problem: ChainProblem | null } {
    // Raw rows and a plain literal per row: about twice as fast as better-sqlite3's keyed rows.
    const stmt = this.db.prepare('SELECT seq, ts, instance, kind, mega, phase, message, data, prev_hash, hash FROM operations ORDER BY seq').raw(true);
    const rows = (function* () {
      for (const r of stmt.iterate() as IterableIterator<unknown[]>) {
        yield { seq: r[0], ts: r[1], instance: r[2], kind: r[3], mega: r[4], phase: r[5], message: r[6], data: r[7], prev_hash: r[8], hash: r[9] } as Row;
      }
    })();
    const head = this.db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM operations_head WHERE id = 1').get();
    const r = verifyChain(rows, GENESIS_HASH, operationHash, head);
    return { ok: r.problem === null, ...r };
  }
}

export function toOperation(r: Row): Operation {
  return {
    seq: r.seq,
    ts: r.ts,
    instance: r.instance,
    kind: r.kind,
    mega: r.mega,
    phase: r.phase,
    message: r.message,
    data: r.data === null ? null : JSON.parse(r.data),
    hash: r.hash,
  };
}
