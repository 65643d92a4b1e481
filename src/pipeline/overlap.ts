/**
 * Pure: which repository paths a file reservation covers, and whether two reservations can ever
 * cover the same path — decided exactly, not guessed. Imports nothing with I/O.
 *
 * A reservation is a glob of the one glob engine (src/core/glob.ts, same syntax and meaning:
 * `**`, `*`, `?`, `{a,b}`, `[abc]`, a glob without `/` matching at any depth), with one addition:
 * a glob whose last segment is a plain name without an extension names a directory and reserves
 * everything below it (`src/phases` covers `src/phases/store.ts`); `src/a.ts`, `README.md` and
 * patterns (`*.ts`) cover the files they match only. A trailing `/` names a directory at the root
 * (`src/` = `src/**`, `docs.v2/` = `docs.v2/**`).
 *
 * Overlap is the question "is there a path both cover?". The engine turns each glob into a
 * regular expression of a small, known shape; that expression is read back here into a
 * nondeterministic automaton over characters (with the directory rule added), and two automata
 * are run side by side (their product) looking for a path both accept. This is exact for every
 * glob the engine accepts, and the path found is given as an example. The search is bounded twice:
 * by the state pairs of one search (MAX_PRODUCT_STATES) and by the transitions examined across all
 * the pairs one call compares (an OverlapBudget, OVERLAP_STEPS), because the claim that asks runs
 * it inside the write transaction; past either bound the answer is "overlap", so the decision errs
 * only on the side of refusing a claim, never of letting two owners share a file. A reservation
 * glob also has at most MAX_GLOB_ATOMS wildcards, classes and brace alternatives
 * (reservationProblem), which keeps each search small to begin with.
 */
import { globSource } from '../core/glob.js';

/** A set of characters: the code points in `ranges` (inclusive), or all others when `neg`. */
interface CharSet {
  neg: boolean;
  ranges: [number, number][];
}

interface Nfa {
  /** Epsilon moves per state. */
  eps: number[][];
  /** Character moves per state. */
  moves: { set: CharSet; to: number }[][];
  start: number;
  accept: number;
}

const SLASH = 0x2f;
const ANY: CharSet = { neg: true, ranges: [] };
const NOT_SLASH: CharSet = { neg: true, ranges: [[SLASH, SLASH]] };
const lit = (c: number): CharSet => ({ neg: false, ranges: [[c, c]] });

/** Past this many state pairs an overlap search stops and answers "overlap" (conservative). */
export const MAX_PRODUCT_STATES = 50_000;

/**
 * Transitions one call (a claim's or a checkpoint's whole conflict check) may examine over all its
 * overlap searches: tens of milliseconds at most, whatever the globs, since it runs inside the
 * write transaction. Past it every remaining pair answers "overlap" (bounded).
 */
export const OVERLAP_STEPS = 500_000;

/** What one search costs before its first transition (its queue and maps), charged to the budget per pair. */
export const OVERLAP_PAIR_COST = 200;

/** The work left for one call's overlap searches (see OVERLAP_STEPS); shared by passing the same object. */
export interface OverlapBudget {
  steps: number;
}

export function overlapBudget(steps = OVERLAP_STEPS): OverlapBudget {
  return { steps };
}

/** Wildcards (`*`, `**`, `?`), classes (`[…]`) and brace alternatives a reservation glob may hold. */
export const MAX_GLOB_ATOMS = 12;

/** The glob as a reservation stores it: a trailing `/` (a directory at the root) becomes `/**`. */
export function normalizeReservation(glob: string): string {
  return glob.endsWith('/') ? `${glob}**` : glob;
}

class Builder {
  eps: number[][] = [];
  moves: { set: CharSet; to: number }[][] = [];
  state(): number {
    this.eps.push([]);
    this.moves.push([]);
    return this.eps.length - 1;
  }
  /** A fragment from `a` to `b`. */
  edge(a: number, b: number, set: CharSet | null): void {
    if (set) (this.moves[a] as { set: CharSet; to: number }[]).push({ set, to: b });
    else (this.eps[a] as number[]).push(b);
  }
}

type Frag = { from: number; to: number };

/**
 * Reads back the regular-expression source globSource writes: `^` or `(?:^|/)`, then literals
 * (escaped with `\`), `[^/]*`, `[^/]`, `.*`, the any-directories group of a `**` segment, groups `(?:…|…)`, character classes,
 * then `$` or nothing (open end). Anything else is a bug in this reader: it throws.
 */
class SourceReader {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly b: Builder,
  ) {}

  done(): boolean {
    return this.i >= this.src.length;
  }
  take(s: string): boolean {
    if (!this.src.startsWith(s, this.i)) return false;
    this.i += s.length;
    return true;
  }

  /** Alternatives up to `)` or the end (or a final `$`). */
  alternation(): Frag {
    const from = this.b.state();
    const to = this.b.state();
    for (;;) {
      const f = this.sequence();
      this.b.edge(from, f.from, null);
      this.b.edge(f.to, to, null);
      if (!this.take('|')) return { from, to };
    }
  }

  private sequence(): Frag {
    const from = this.b.state();
    let at = from;
    for (;;) {
      if (this.done() || this.src[this.i] === '|' || this.src[this.i] === ')' || this.src.slice(this.i) === '$') return { from, to: at };
      const f = this.atom();
      this.b.edge(at, f.from, null);
      at = f.to;
    }
  }

  private star(set: CharSet): Frag {
    const s = this.b.state();
    this.b.edge(s, s, set);
    return { from: s, to: s };
  }

  private one(set: CharSet): Frag {
    const from = this.b.state();
    const to = this.b.state();
    this.b.edge(from, to, set);
    return { from, to };
  }

  private atom(): Frag {
    if (this.take('(?:[^/]*/)*')) {
      // any number of whole directories (a `**` segment)
      const s = this.b.state();
      const mid = this.b.state();
      this.b.edge(s, mid, NOT_SLASH);
      this.b.edge(mid, mid, NOT_SLASH);
      this.b.edge(s, s, lit(SLASH));
      this.b.edge(mid, s, lit(SLASH));
      return { from: s, to: s };
    }
    if (this.take('.*')) return this.star(ANY);
    if (this.take('[^/]*')) return this.star(NOT_SLASH);
    if (this.take('[^/]')) return this.one(NOT_SLASH);
    if (this.take('(?:')) {
      const f = this.alternation();
      if (!this.take(')')) throw new Error(`glob reader: unclosed group in ${this.src}`);
      return f;
    }
    if (this.take('[')) return this.one(this.charClass());
    return this.one(lit(this.literal()));
  }

  private literal(): number {
    if (this.src[this.i] === '\\') this.i++;
    const c = this.src.codePointAt(this.i);
    if (c === undefined) throw new Error(`glob reader: unexpected end of ${this.src}`);
    this.i += c > 0xffff ? 2 : 1;
    return c;
  }

  /** After `[`: `^/` then the negated set, or a plain set; atoms, `a-z` ranges, up to `]`. */
  private charClass(): CharSet {
    const neg = this.take('^');
    const ranges: [number, number][] = [];
    while (!this.take(']')) {
      const lo = this.literal();
      let hi = lo;
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        hi = this.literal();
      }
      ranges.push([lo, hi]);
    }
    return { neg, ranges };
  }
}

/**
 * Whether the glob names a directory, whose contents are reserved too: its last segment is a plain
 * name without an extension (`src/phases`, `.github`). `README.md` or `src/a.ts` name files, and a
 * pattern (`*.ts`) covers the files it matches only; a trailing `/` says directory explicitly.
 */
export function namesDirectory(glob: string): boolean {
  const last = glob.slice(glob.lastIndexOf('/') + 1);
  return !/[*?[\]{}]/.test(last) && !last.slice(1).includes('.');
}

/**
 * The automaton of the paths a reservation covers: the glob's matches, and everything below them
 * when it names a directory.
 * Throws GlobError (from the engine) for a malformed glob.
 */
export function reservationNfa(glob: string): Nfa {
  const src = globSource(normalizeReservation(glob));
  const b = new Builder();
  const start = b.state();
  const accept = b.state();
  const below = b.state(); // anything further: below a matched directory, or after an open end
  b.edge(below, below, ANY);
  b.edge(below, accept, null);
  const nfa = { eps: b.eps, moves: b.moves, start, accept };
  if (src === '') {
    b.edge(start, below, null); // `**`: every path
    return nfa;
  }
  const r = new SourceReader(src, b);
  const bodyStart = b.state();
  b.edge(start, bodyStart, null);
  if (r.take('(?:^|/)')) {
    // at any depth: nothing before, or anything that ends in "/"
    const pre = b.state();
    b.edge(start, pre, null);
    b.edge(pre, pre, ANY);
    b.edge(pre, bodyStart, lit(SLASH));
  } else if (!r.take('^')) throw new Error(`glob reader: no anchor in ${src}`);
  const body = r.alternation();
  b.edge(bodyStart, body.from, null);
  if (r.take('$')) {
    b.edge(body.to, accept, null); // the match itself
    if (namesDirectory(glob)) b.edge(body.to, below, lit(SLASH)); // or a path below it
  } else b.edge(body.to, below, null); // open end: anything after
  if (!r.done()) throw new Error(`glob reader: trailing text in ${src}`);
  return nfa;
}

function closures(n: Nfa): number[][] {
  return n.eps.map((_, s) => {
    const seen = new Set([s]);
    const stack = [s];
    while (stack.length)
      for (const t of n.eps[stack.pop() as number] as number[])
        if (!seen.has(t)) {
          seen.add(t);
          stack.push(t);
        }
    return [...seen];
  });
}

function contains(set: CharSet, c: number): boolean {
  return set.ranges.some(([lo, hi]) => c >= lo && c <= hi) !== set.neg;
}

/** A character both sets hold, or null. Candidates are the sets' range edges: every intersection of ranges and complements starts at one. */
function common(a: CharSet, b: CharSet): number | null {
  const cands = [0x61, 0x78, 0x2e];
  for (const s of [a, b]) for (const [lo, hi] of s.ranges) cands.push(lo, hi + 1);
  cands.push(0, SLASH);
  for (const c of cands) if (c <= 0x10ffff && contains(a, c) && contains(b, c)) return c;
  return null;
}

interface Compiled {
  nfa: Nfa;
  closure: number[][];
}

const cache = new Map<string, Compiled>();
function compiled(glob: string): Compiled {
  let c = cache.get(glob);
  if (!c) {
    const nfa = reservationNfa(glob);
    c = { nfa, closure: closures(nfa) };
    if (cache.size > 2000) cache.clear();
    cache.set(glob, c);
  }
  return c;
}

/** Whether the reservation `glob` covers `path` (the path itself, or a directory above it, matches). */
export function reserves(glob: string, path: string): boolean {
  const { nfa, closure } = compiled(glob);
  let cur = new Set(closure[nfa.start]);
  for (const ch of path) {
    const c = ch.codePointAt(0) as number;
    const next = new Set<number>();
    for (const s of cur) for (const m of nfa.moves[s] as { set: CharSet; to: number }[]) if (contains(m.set, c)) for (const t of closure[m.to] as number[]) next.add(t);
    if (next.size === 0) return false;
    cur = next;
  }
  return cur.has(nfa.accept);
}

/**
 * Whether some path is covered by both reservations; `example` is one such path (the shortest)
 * when found, and `bounded` says the search gave up and answered "overlap" to be safe.
 */
export function overlap(a: string, b: string, budget: OverlapBudget = overlapBudget()): { overlaps: boolean; example?: string; bounded?: boolean } {
  budget.steps -= OVERLAP_PAIR_COST;
  if (budget.steps < 0) return { overlaps: true, bounded: true };
  const A = compiled(a);
  const B = compiled(b);
  const nb = B.nfa.eps.length;
  const key = (x: number, y: number) => x * nb + y;
  const parent = new Map<number, { from: number; c: number } | null>();
  const queue: [number, number][] = [[A.nfa.start, B.nfa.start]];
  parent.set(key(A.nfa.start, B.nfa.start), null);
  const path = (k: number): string => {
    const cs: number[] = [];
    for (let p = parent.get(k); p; p = parent.get(p.from)) cs.push(p.c);
    return String.fromCodePoint(...cs.reverse());
  };
  for (let head = 0; head < queue.length; head++) {
    const [x, y] = queue[head] as [number, number];
    const cx = A.closure[x] as number[];
    const cy = B.closure[y] as number[];
    if (cx.includes(A.nfa.accept) && cy.includes(B.nfa.accept)) return { overlaps: true, example: path(key(x, y)) };
    for (const sx of cx)
      for (const mx of A.nfa.moves[sx] as { set: CharSet; to: number }[])
        for (const sy of cy)
          for (const my of B.nfa.moves[sy] as { set: CharSet; to: number }[]) {
            if (--budget.steps < 0) return { overlaps: true, bounded: true };
            const k = key(mx.to, my.to);
            if (parent.has(k)) continue;
            const c = common(mx.set, my.set);
            if (c === null) continue;
            parent.set(k, { from: key(x, y), c });
            if (parent.size > MAX_PRODUCT_STATES) return { overlaps: true, bounded: true };
            queue.push([mx.to, my.to]);
          }
  }
  return { overlaps: false };
}

/** One overlapping pair: a glob of ours, one of theirs, and a path both cover. */
export interface GlobOverlap {
  mine: string;
  theirs: string;
  example?: string;
}

/** Every pair of globs, one from each list, that overlap; `budget` is shared with the caller's other searches. */
export function overlaps(mine: readonly string[], theirs: readonly string[], budget: OverlapBudget = overlapBudget()): GlobOverlap[] {
  const out: GlobOverlap[] = [];
  for (const m of mine)
    for (const t of theirs) {
      const r = overlap(m, t, budget);
      if (r.overlaps) out.push({ mine: m, theirs: t, ...(r.example !== undefined ? { example: r.example } : {}) });
    }
  return out;
}

/** Why a reservation glob is refused, or null: a repository-relative path pattern, no absolute path, no `..`, no control characters, a glob the engine reads. */
export function reservationProblem(glob: string): string | null {
  if (glob.trim() !== glob || glob.length === 0) return 'empty or with surrounding spaces';
  if (/\p{Cc}/u.test(glob)) return 'holds a control character';
  if (glob.startsWith('/') || /^[A-Za-z]:\//.test(glob) || glob.startsWith('~/')) return 'must be relative to the repository root, not absolute';
  if (glob.includes('\\')) return 'use "/" between directories (no backslashes)';
  if (glob.split('/').some((s) => s === '..')) return 'must stay inside the repository (no ".." segment)';
  if (glob.split('/').some((s, i, all) => s === '' && i > 0 && i < all.length - 1)) return 'holds an empty path segment ("//")';
  if (glob.split('/').some((s, i) => s === '.' && i > 0)) return 'holds a "." segment inside the path (write the path without it)';
  if (/^(\.\/)?(\*\*?)(\/\*\*?)*\/?$/.test(glob)) return 'reserves the whole repository; name the directories or files the phase will change';
  const atoms = globAtoms(glob);
  if (atoms > MAX_GLOB_ATOMS) return `too intricate: ${atoms} wildcards, classes and brace alternatives (at most ${MAX_GLOB_ATOMS}); reserve a directory instead`;
  try {
    globSource(normalizeReservation(glob));
  } catch (e) {
    return (e as Error).message;
  }
  return null;
}

/** The wildcards (a run of `*` counts once), `?`, character classes and brace alternatives of a glob. */
export function globAtoms(glob: string): number {
  const stars = glob.match(/\*+/g)?.length ?? 0;
  const marks = glob.match(/\?/g)?.length ?? 0;
  const classes = glob.match(/\[/g)?.length ?? 0;
  const braces = glob.match(/\{/g)?.length ?? 0;
  const commas = [...glob.matchAll(/\{[^}]*\}/g)].reduce((n, m) => n + (m[0].match(/,/g)?.length ?? 0), 0);
  return stars + marks + classes + braces + commas;
}
