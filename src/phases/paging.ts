import { InputError } from '../core/errors.js';
import { clip } from '../core/text.js';
import type { Checkpoint } from '../sessions/checkpoints.js';

/**
 * The board a page at a time (issue 14): page sizes, the byte budget that keeps every answer far
 * below the 256 KB an answer may take (the SDK's stdio buffer is 10 MiB; a 13 MB board line used to
 * disconnect the client), and the opaque cursors. Pure: no I/O.
 */
export const PAGE = {
  /** MEGAs per summary page, phases per MEGA page, when the caller gives no limit: a normal MEGA fits one page. */
  limit: 100,
  /** The most a caller may ask for. */
  maxLimit: 500,
  /** JSON bytes of the items of one page; the page ends early rather than pass it (at least one item per page). */
  bytes: 80_000,
  /** A board with at most this many phases in all answers `board {}` with every MEGA's phases, as before paging. */
  smallBoard: 100,
} as const;

/** Where the next page starts: after a MEGA (its created_at and key) of the summary, or after a plan position of one MEGA's phases. */
export type BoardCursor = { kind: 'megas'; at: number; key: string } | { kind: 'phases'; mega: string; ord: number };

/** The cursor as an opaque string (base64url of a small JSON array). */
export function encodeCursor(c: BoardCursor): string {
  return Buffer.from(JSON.stringify(c.kind === 'megas' ? ['m', c.at, c.key] : ['p', c.mega, c.ord])).toString('base64url');
}

/**
 * A cursor from a board answer, checked against the call it comes back with: a summary cursor
 * goes without `mega`, a MEGA's cursor with that MEGA. Anything else is an InputError naming `cursor`.
 */
export function decodeCursor(text: string, mega: string | undefined): BoardCursor {
  const bad = (why: string) => new InputError('cursor', `${why}; pass the cursor of the last board answer unchanged, or omit it for the first page`);
  let v: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,512}$/.test(text)) throw new Error();
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a board cursor');
  }
  const c = parse(v);
  if (!c) throw bad('not a board cursor');
  if (c.kind === 'megas' && mega !== undefined) throw bad(`this cursor pages the list of MEGAs, not the phases of ${mega}: call board without mega`);
  if (c.kind === 'phases' && mega === undefined) throw bad(`this cursor pages the phases of ${c.mega}: call board with mega "${c.mega}"`);
  if (c.kind === 'phases' && c.mega !== mega) throw bad(`this cursor pages the phases of ${c.mega}, not of ${mega}`);
  return c;
}

function parse(v: unknown): BoardCursor | null {
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [k, a, b] = v as unknown[];
  if (k === 'm' && Number.isSafeInteger(a) && typeof b === 'string' && b.length > 0 && b.length <= 64) return { kind: 'megas', at: a as number, key: b };
  if (k === 'p' && typeof a === 'string' && a.length > 0 && a.length <= 64 && Number.isSafeInteger(b) && (b as number) >= 0) return { kind: 'phases', mega: a, ord: b as number };
  return null;
}

/** UTF-8 bytes of a value's JSON. */
export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v));
}

/**
 * The items of one page: `build` each row in turn until `limit` items, or until the next would take
 * the page past PAGE.bytes of JSON (the first always goes in: one item is bounded by the input limits).
 * `more` says whether rows were left (the caller fetched limit + 1 to know). No I/O of its own: `build` may
 * read (the board's rows), so it is awaited.
 */
export async function fillPage<R, T>(rows: readonly R[], limit: number, build: (r: R) => T | Promise<T>): Promise<{ items: T[]; last: R | undefined; more: boolean }> {
  const items: T[] = [];
  let bytes = 0;
  let last: R | undefined;
  for (const r of rows.slice(0, limit)) {
    const item = await build(r); // built one at a time: rows past the byte budget are never built (nor read)
    const size = jsonBytes(item);
    if (items.length > 0 && bytes + size > PAGE.bytes) return { items, last, more: true };
    items.push(item);
    bytes += size;
    last = r;
  }
  return { items, last, more: rows.length > limit };
}

/**
 * The latest checkpoint as the board shows it: bounded (a checkpoint may hold 200 steps of 1,000
 * characters each, 500 files and a 20,000-character note), so one phase cannot fill a page.
 * The whole checkpoint is in session_start's answer and in `factory-mcp export`.
 */
export function checkpointBrief(c: Checkpoint): Checkpoint {
  const list = (xs: string[], n: number) => xs.slice(0, n).map((x) => clip(x, 200));
  return { ...c, done: list(c.done, 10), next: list(c.next, 10), files: list(c.files, 20), note: c.note === null ? null : clip(c.note, 500) };
}
