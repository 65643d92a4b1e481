/**
 * The operations-log entry, pure: its fields defined once (the store's insert, row type, hash and
 * verify are all derived from them), the hash chain and its verification, the readable line.
 */
import { hash } from 'node:crypto';
import { iso } from './time.js';

/**
 * Every field an entry stores besides its links, in hash order, with its column type. The hash
 * covers each one: a field added here is hashed, inserted and verified without another edit.
 * The order is part of the chain format (same entry, same hash, in every existing database).
 */
export const ENTRY_FIELDS = {
  seq: 'integer',
  ts: 'integer',
  instance: 'text?',
  kind: 'text',
  mega: 'text?',
  phase: 'text?',
  message: 'text',
  /** JSON text (redacted), or null. */
  data: 'text?',
} as const;

type ColumnValue<T> = T extends 'integer' ? number : T extends 'text' ? string : string | null;

export type EntryField = keyof typeof ENTRY_FIELDS;

/** An entry as hashed and stored (data as JSON text). */
export type StoredEntry = { -readonly [F in EntryField]: ColumnValue<(typeof ENTRY_FIELDS)[F]> };

/** A row of the operations table: the entry and its two links. */
export type OperationRow = StoredEntry & { prev_hash: string; hash: string };

export const HASHED_FIELDS = Object.keys(ENTRY_FIELDS) as EntryField[];

/** The table's columns in row order: the hashed fields, then the links. */
export const OPERATION_COLUMNS: readonly (keyof OperationRow)[] = [...HASHED_FIELDS, 'prev_hash', 'hash'];

export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an entry from its field values in HASHED_FIELDS order and the previous entry's hash. */
export function hashValues(prev: string, values: readonly unknown[]): string {
  // One-shot crypto.hash (Node ≥ 20.12): the same digest as createHash, 2-3× faster on short input (log --verify).
  return hash('sha256', JSON.stringify([prev, ...values]), 'hex');
}

/** The hash of one entry covers every field and the previous entry's hash. */
export function operationHash(prev: string, e: StoredEntry): string {
  return hashValues(
    prev,
    HASHED_FIELDS.map((f) => e[f]),
  );
}

export interface ChainRow {
  seq: number;
  prev_hash: string;
  hash: string;
}

export type ChainProblem = { seq: number; problem: 'edited' | 'deleted' | 'inserted'; detail: string };

/**
 * Walks a hash chain in seq order. `hash(prev, row)` recomputes an entry's hash. Names the first
 * entry that was edited (its hash no longer matches its content), deleted (a gap in seq, or the
 * next entry's link points past it) or inserted (its link does not match the entry before it).
 */
export async function verifyChain<R extends ChainRow>(
  rows: Iterable<R> | AsyncIterable<R>,
  genesis: string,
  hash: (prev: string, row: R) => string,
  head?: { seq: number; hash: string } | null,
): Promise<{ entries: number; problem: ChainProblem | null }> {
  let prev = genesis;
  let expected = 1;
  let entries = 0;
  for await (const r of rows) {
    entries++;
    if (r.seq > expected)
      return { entries, problem: { seq: expected, problem: 'deleted', detail: `entries ${expected}${r.seq - 1 > expected ? `–${r.seq - 1}` : ''} are missing (next is ${r.seq})` } };
    if (r.seq < expected) return { entries, problem: { seq: r.seq, problem: 'inserted', detail: `seq ${r.seq} is out of order` } };
    if (r.prev_hash !== prev) {
      const edited = hash(r.prev_hash, r) === r.hash;
      return {
        entries,
        problem: edited
          ? { seq: r.seq, problem: 'inserted', detail: `entry ${r.seq} links to a hash that is not entry ${r.seq - 1}'s` }
          : { seq: r.seq, problem: 'edited', detail: `entry ${r.seq} does not match its hash` },
      };
    }
    if (hash(prev, r) !== r.hash) return { entries, problem: { seq: r.seq, problem: 'edited', detail: `entry ${r.seq} does not match its hash` } };
    prev = r.hash;
    expected = r.seq + 1;
  }
  // The recorded head catches entries cut off the end, which leave no gap behind them.
  const last = expected - 1;
  if (head && head.seq > last)
    return { entries, problem: { seq: last + 1, problem: 'deleted', detail: `entries ${last + 1}${head.seq > last + 1 ? `–${head.seq}` : ''} at the end are missing (the head records ${head.seq})` } };
  if (head && head.seq === last && head.hash !== prev) return { entries, problem: { seq: last, problem: 'edited', detail: `entry ${last} does not match the recorded head` } };
  return { entries, problem: null };
}

/** One operations.log line: `#seq time instance kind scope message`. */
export function operationLine(op: Pick<StoredEntry, 'seq' | 'ts' | 'instance' | 'kind' | 'mega' | 'phase' | 'message'>): string {
  const scope = op.mega ? (op.phase !== null ? `${op.mega}/${op.phase}` : op.mega) : '-';
  return `#${op.seq} ${iso(op.ts)} ${op.instance ?? '-'} ${op.kind} ${scope} ${op.message.replace(/\n/g, ' ')}`;
}
