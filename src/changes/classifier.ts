/**
 * Ship / Show / Ask: the classifier of the changes feature. Pure: it sees changed files (paths,
 * status, line counts, added and removed lines when known) and the compiled rules (rules.ts),
 * and says which rules fire on which files; the highest level any rule reaches wins. Lines over
 * `max_line_length` and content past `max_content_length` are not inspected, and the
 * `content_skipped` rule says so. What it decides on the way is a set of small pure functions
 * named for the decision (winningLevel, isRenameOnly, isWhitespaceOnly, binaryVerdict,
 * skippedNotes, unmoved, dependencyChange, expectedLevel, featureDenied), each tested on its own
 * in test/unit/changes-classifier.test.ts; the Classifier only gathers files and fires rules.
 */
import type { PathMatcher } from '../core/glob.js';
import { ACTIONS, LOGIC_RULES, RANK, maxLevel, type Action, type ChangedFile, type CompiledRule, type CompiledRules, type Intent, type Level, type PatternSet, type SizeTier } from './rules.js';
import { isLockfile, manifestOf, type Manifest } from './manifests.js';

export interface Reason {
  level: Level;
  rule: string;
  files: string[];
  message: string;
}

export interface Classification {
  level: Level;
  action: Action;
  reasons: Reason[];
  stats: { files: number; additions: number; deletions: number; renames: number };
  /** The PR size: changed lines that count (not binaries, lockfiles or size_exclude) and their tier. */
  size: { lines: number; tier: SizeTier };
}

/** Characters inspected between two chances for the event loop (classifyAsync). */
const YIELD_EVERY = 128 * 1024;

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

// ------------------------------------------------------------------ whitespace

const ws = (c: number) => c === 32 || c === 9 || c === 13 || c === 12 || c === 11 || c === 0xa0 || c === 0xfeff;

/** The non-whitespace characters of a run of lines, one at a time. */
class NonWhitespace {
  private line = 0;
  private at = 0;
  constructor(private readonly lines: readonly string[]) {}

  /** The next non-whitespace character's code, or -1 at the end. */
  next(): number {
    const lines = this.lines;
    while (this.line < lines.length) {
      const l = lines[this.line] as string;
      while (this.at < l.length && ws(l.charCodeAt(this.at))) this.at++;
      if (this.at < l.length) return l.charCodeAt(this.at++);
      this.line++;
      this.at = 0;
    }
    return -1;
  }
}

/** Whether two runs of lines hold the same text once all whitespace is ignored; stops at the first difference. */
export function sameIgnoringWhitespace(a: readonly string[], b: readonly string[]): boolean {
  const x = new NonWhitespace(a);
  const y = new NonWhitespace(b);
  for (;;) {
    const c = x.next();
    if (c !== y.next()) return false;
    if (c === -1) return true;
  }
}

// ------------------------------------------------------------------ the named decisions

/** Which level wins: the highest any fired rule reached (ship when none fired). */
export function winningLevel(fired: Iterable<{ level: Level }>): Level {
  let level: Level = 'ship';
  for (const r of fired) level = maxLevel(level, r.level);
  return level;
}

/** The PR size tier of a count of changed lines: over `max` (max_lines, too_large) xl, else under `s`, under `m`, or l. */
export function sizeTier(lines: number, tiers: { s: number; m: number }, max: number): SizeTier {
  if (lines > max) return 'xl';
  if (lines < tiers.s) return 's';
  return lines < tiers.m ? 'm' : 'l';
}

/** Whether a file is, or was, a symlink: the note the `symlink` rule gives it, or null. */
export function symlinkNote(f: ChangedFile): string | null {
  if (!f.symlink && !f.was_symlink) return null;
  return `${f.path} ${f.status === 'deleted' ? 'removed' : f.symlink ? 'is a symlink' : 'was a symlink'}`;
}

/** Whether a change is only a rename or copy: no line added or removed. */
export function isRenameOnly(f: ChangedFile): boolean {
  return (f.status === 'renamed' || f.status === 'copied') && f.additions === 0 && f.deletions === 0;
}

/** Whether every changed line of a file is known and the change is whitespace only (a parser may keep only the first lines of a huge file). */
export function isWhitespaceOnly(f: ChangedFile): boolean {
  const add = f.added;
  const rem = f.removed;
  if (!add || !rem || add.length + rem.length === 0) return false;
  return add.length === f.additions && rem.length === f.deletions && sameIgnoringWhitespace(add, rem);
}

/** What a binary file is: `content_skipped` when content rules would have read it (unreadBy names them), else `binary` unless a path rule already covered it. */
export function binaryVerdict(unreadBy: readonly string[], covered: boolean): 'content_skipped' | 'binary' | null {
  if (unreadBy.length) return 'content_skipped';
  return covered ? null : 'binary';
}

/** Lines content rules did not read, by cause. */
export interface Skipped {
  /** Longer than max_line_length. */
  long: number;
  /** Past max_content_length. */
  over: number;
}

/** Whether content of a file was skipped: one note per cause (the `content_skipped` rule's), none when all was read. */
export function skippedNotes(path: string, skipped: Skipped, limits: Pick<CompiledRules, 'maxLineLength' | 'maxContentLength'>): string[] {
  const notes: string[] = [];
  if (skipped.long) notes.push(`${path}: ${skipped.long} line${skipped.long === 1 ? '' : 's'} over ${limits.maxLineLength} characters not inspected`);
  if (skipped.over) notes.push(`${path}: ${skipped.over} line${skipped.over === 1 ? '' : 's'} past the ${limits.maxContentLength}-character content limit not inspected`);
  return notes;
}

/** Whether a changed line is really new to the change: not blank, and its text (trimmed) not found on the other side (a move). */
export function unmoved(moved: ReadonlySet<string>): (line: string) => boolean {
  return (l) => {
    const k = l.trim();
    return k !== '' && !moved.has(k);
  };
}

/** A manifest's dependency changes, and what its lockfile situation makes of them. */
export interface DependencyChange {
  bumped: string[];
  fresh: string[];
  dropped: string[];
  /** `dependency_bump` (a bump, locked), `lockfile_missing` (a bump or a new dependency, unlocked), or nothing to say. */
  lock: 'dependency_bump' | 'lockfile_missing' | null;
}

/**
 * What changed in a manifest's dependencies: a name on both sides was bumped, only added is new,
 * only removed is dropped. A bump (or a manifest whose lines are unknown) needs a lockfile in the
 * change (or a self-locked manifest); so does a new dependency.
 */
export function dependencyChange(added: ReadonlySet<string>, removed: ReadonlySet<string>, locked: boolean, linesUnknown: boolean): DependencyChange {
  const bumped = [...added].filter((n) => removed.has(n));
  const fresh = [...added].filter((n) => !removed.has(n));
  const dropped = [...removed].filter((n) => !added.has(n));
  let lock: DependencyChange['lock'] = null;
  if (bumped.length || linesUnknown) lock = locked ? 'dependency_bump' : 'lockfile_missing';
  else if (fresh.length && !locked) lock = 'lockfile_missing';
  return { bumped, fresh, dropped, lock };
}

/** The level a stated intent suggests. */
export function expectedLevel(intent: Intent): Level {
  if (intent === 'feature') return 'ask';
  return intent === 'docs' || intent === 'config' || intent === 'deps' ? 'ship' : 'show';
}

/** Whether the diff contradicts an intent that claims no feature (refactor, style): what it adds instead, or null. */
export function featureDenied(intent: Intent, api: readonly string[], newFiles: readonly string[]): string | null {
  if ((intent !== 'refactor' && intent !== 'style') || (!api.length && !newFiles.length)) return null;
  return [api.length ? `adds exported API (${api.slice(0, 3).join(', ')})` : '', newFiles.length ? `adds source files (${newFiles.slice(0, 3).join(', ')})` : ''].filter(Boolean).join(' and ');
}

// ------------------------------------------------------------------ the classifier

/** Runs a classification step to its end, ignoring its pauses. */
function drain<T>(g: Generator<void, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Runs a classification step, giving the event loop a turn at each pause. */
async function drainAsync<T>(g: Generator<void, T>): Promise<T> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface ClassifyOptions {
  intent?: Intent | undefined;
  /** How many file paths one reason lists at most (the count is in the message). */
  maxFilesPerReason?: number;
}

interface Candidate {
  rule: CompiledRule;
  file: ChangedFile;
  side: 'added' | 'removed';
  lines: string[];
}

/** Whether a hit line is new (added, not removed elsewhere) or gone (removed, not re-added elsewhere). */
interface Moves {
  isNew(line: string): boolean;
  isGone(line: string): boolean;
}

/** Matching lines per applicable rule of one file and side, at most 20 each. */
type Found = Map<number, { rule: CompiledRule; lines: string[] }>;
/** Whether the file being added matches the glob list in a matcher slot (memoised per file). */
type PathTest = (slot: number) => boolean;

/** Records one inspected line under each wanted rule it matched; returns how many rules just reached 20 lines. */
function recordHits(found: Found, wanted: ReadonlyMap<number, CompiledRule>, matched: readonly number[], line: string): number {
  let full = 0;
  for (const i of matched) {
    const rule = wanted.get(i);
    if (!rule) continue;
    let hit = found.get(i);
    if (!hit) found.set(i, (hit = { rule, lines: [] }));
    if (hit.lines.length < 20 && hit.lines.push(line) === 20) full++;
  }
  return full;
}

/** How many changed lines of a file are known. */
const changedLines = (f: ChangedFile): number => (f.removed?.length ?? 0) + (f.added?.length ?? 0);

/** Adds each line's trimmed text to a set. */
function addTrimmed(into: Set<string>, lines: readonly string[] | undefined): void {
  for (const l of lines ?? []) into.add(l.trim());
}

/** Adds to `into` each line (trimmed) that is in `wanted`. */
function collectPresent(lines: readonly string[], wanted: ReadonlySet<string>, into: Set<string>): void {
  for (const l of lines) {
    const k = l.trim();
    if (wanted.has(k)) into.add(k);
  }
}

/**
 * Classifies a change file by file (`add`, e.g. while git still streams the diff), then
 * `finish` applies what needs the whole change: moved lines, dependencies, size, intent.
 * A content-rule hit counts only when its line is new: the same text (trimmed) removed
 * elsewhere in the change is a move, not new API. Hits are checked against the rest of the
 * change once, at the end, so a change with no hits never builds that index.
 * `add` and `finish` run at once; `addAsync` and `finishAsync` pause for the event loop every
 * 128K characters inspected, so one large diff does not hold a server's only thread.
 */
export class Classifier {
  private readonly fired = new Map<string, { level: Level; files: string[]; notes: string[] }>();
  private readonly all: ChangedFile[] = [];
  private readonly stats = { files: 0, additions: 0, deletions: 0, renames: 0 };
  private readonly memo: Uint8Array;
  private reviewable = 0;
  private readonly lockfiles: string[] = [];
  private readonly manifests: { f: ChangedFile; m: Manifest }[] = [];
  private readonly candidates: Candidate[] = [];
  /** Files whose only cover would be a content hit: "other" unless a hit survives. */
  private readonly pendingOther = new Set<ChangedFile>();
  private readonly newSource: string[] = [];
  /** Characters inspected so far (against max_content_length), and since the last pause. */
  private inspected = 0;
  private sincePause = 0;

  constructor(
    private readonly rules: CompiledRules,
    private readonly opts: ClassifyOptions = {},
  ) {
    this.memo = new Uint8Array(rules.matchers.length); // per file: 0 not tested, 1 match, 2 no match
  }

  private fire(rule: string, level: Level | undefined, file: string | null, note?: string): void {
    if (level === undefined) return; // removed by configuration
    let r = this.fired.get(rule);
    if (!r) this.fired.set(rule, (r = { level, files: [], notes: [] }));
    if (file !== null && r.files[r.files.length - 1] !== file) r.files.push(file);
    if (note && r.notes.length < 5 && !r.notes.includes(note)) r.notes.push(note);
  }

  /** Fires a logic rule at its configured level (not at all when configuration removed it). */
  private fireLogic(rule: string, file: string | null, note?: string): void {
    this.fire(rule, this.rules.logic.get(rule), file, note);
  }

  add(f: ChangedFile): void {
    drain(this.adding(f));
  }

  addAsync(f: ChangedFile): Promise<void> {
    return drainAsync(this.adding(f));
  }

  /** Whether content rules may read this line (long lines and lines past the budget are counted as skipped instead). */
  private inspect(l: string, skipped: Skipped): boolean {
    if (l.length > this.rules.maxLineLength) {
      skipped.long++;
      return false;
    }
    if (this.inspected + l.length > this.rules.maxContentLength) {
      this.inspected = this.rules.maxContentLength; // spent: nothing after this line is read either
      skipped.over++;
      return false;
    }
    this.inspected += l.length;
    this.sincePause += l.length + 16;
    return true;
  }

  /** The pause points: true once enough has been inspected since the last one. */
  private pauseDue(): boolean {
    if (this.sincePause < YIELD_EVERY) return false;
    this.sincePause = 0;
    return true;
  }

  private skipped(f: ChangedFile, skipped: Skipped): void {
    for (const note of skippedNotes(f.path, skipped, this.rules)) this.fireLogic('content_skipped', f.path, note);
  }

  /** Which applicable rules match which lines of one side (the set finds every matching rule in one pass per line). */
  private *scan(lines: readonly string[], set: PatternSet | null, side: 'pattern' | 'removed', applies: readonly CompiledRule[], skipped: Skipped): Generator<void, Found> {
    const found: Found = new Map();
    if (!set) return found;
    const wanted = new Map<number, CompiledRule>();
    for (const r of applies) if (r[side] >= 0) wanted.set(r[side], r);
    if (wanted.size === 0) return found;
    let full = 0;
    for (const l of lines) {
      if (!this.inspect(l, skipped)) continue;
      full += recordHits(found, wanted, set.match(l), l);
      if (full === wanted.size) break;
      if (this.pauseDue()) yield;
    }
    return found;
  }

  /** One file: counted, covered by its path, settled without content (binary, rename, whitespace), or read by the content rules (candidates for finish). */
  private *adding(f: ChangedFile): Generator<void, void> {
    const base = basename(f.path);
    const isLock = isLockfile(base);
    const is = this.pathTest(f, base);
    this.count(f, is);
    const covered = this.coverByPath(f, is, base, isLock);
    if (this.settledWithoutContent(f, is, covered)) return;
    if (f.status === 'added') this.noteNewSource(f, is);
    // The content rules that apply, on the file's added and removed lines (scanned from here: one
    // generator fewer per file is 2 % of a 5,000-file classification).
    const applies = this.rules.contentRules.filter((r) => (r.paths < 0 || is(r.paths)) && !is(r.exclude));
    let hits = 0;
    if (applies.length) {
      const skipped: Skipped = { long: 0, over: 0 };
      const onAdded = f.added ? yield* this.scan(f.added, this.rules.added, 'pattern', applies, skipped) : null;
      const onRemoved = f.removed ? yield* this.scan(f.removed, this.rules.removed, 'removed', applies, skipped) : null;
      hits = this.keepCandidates(f, applies, onAdded, onRemoved);
      this.skipped(f, skipped);
    }
    if (covered) return;
    if (hits) this.pendingOther.add(f);
    else this.other(f);
  }

  /** An added source file that is not a test: a refactor or style intent cannot add it (see intent). */
  private noteNewSource(f: ChangedFile, is: PathTest): void {
    if (is(this.rules.source) && !is(this.rules.tests)) this.newSource.push(f.path);
  }

  /** Stats, and the lines that count towards the size (binaries and size_exclude files do not). */
  private count(f: ChangedFile, is: PathTest): void {
    const stats = this.stats;
    this.all.push(f);
    stats.files++;
    stats.additions += f.additions;
    stats.deletions += f.deletions;
    if (f.status === 'renamed') stats.renames++;
    if (!f.binary && !is(this.rules.sizeExclude)) this.reviewable += f.additions + f.deletions;
  }

  /** Whether the file (or, for a rename or copy, its old path) matches a glob list; each list is tested once per file. */
  private pathTest(f: ChangedFile, base: string): PathTest {
    const rules = this.rules;
    const old = f.old_path && f.old_path !== f.path ? f.old_path : null;
    const memo = this.memo;
    memo.fill(0);
    return (slot) => {
      if (slot < 0) return false;
      let v = memo[slot];
      if (!v) {
        const m = rules.matchers[slot] as PathMatcher;
        v = memo[slot] = m.test(f.path, base) || (old !== null && m.test(old)) ? 1 : 2;
      }
      return v === 1;
    };
  }

  /** The rules a path alone decides: symlinks, path rules, lockfiles and manifests (kept for finish). Whether any covered the file. */
  private coverByPath(f: ChangedFile, is: PathTest, base: string, isLock: boolean): boolean {
    let covered = false;
    const link = symlinkNote(f);
    if (link !== null) {
      this.fireLogic('symlink', f.path, link);
      covered = true;
    }
    for (const r of this.rules.pathRules) {
      if (is(r.paths) && !is(r.exclude)) {
        this.fire(r.id, r.level, f.path);
        covered = true;
      }
    }
    const dependency = this.keepDependencyFile(f, base, isLock);
    return dependency || covered;
  }

  /** Lockfiles and manifests are judged once the whole change is in; whether the file is one. */
  private keepDependencyFile(f: ChangedFile, base: string, isLock: boolean): boolean {
    let kept = false;
    if (isLock) {
      kept = true;
      if (f.status !== 'deleted') this.lockfiles.push(f.path);
    }
    const manifest = manifestOf(base);
    if (manifest && f.status !== 'deleted') {
      kept = true;
      this.manifests.push({ f, m: manifest });
    }
    return kept;
  }

  /** Binary, rename-only and whitespace-only files are decided without reading content; whether this one was. */
  private settledWithoutContent(f: ChangedFile, is: PathTest, covered: boolean): boolean {
    if (f.binary) {
      this.binary(f, is, covered);
      return true;
    }
    if (isRenameOnly(f)) {
      if (!covered) this.fireLogic('rename_only', f.path, `${f.old_path} → ${f.path}`);
      return true;
    }
    if (isWhitespaceOnly(f)) {
      this.fireLogic('whitespace_only', f.path);
      return true;
    }
    return false;
  }

  /**
   * git shows a file as binary for a NUL byte or a `binary`/`-diff` in .gitattributes, both the
   * agent's to write: a file content rules look at is then unread content, not a harmless binary.
   */
  private binary(f: ChangedFile, is: PathTest, covered: boolean): void {
    const unread = this.rules.contentRules.filter((r) => r.paths >= 0 && is(r.paths) && !is(r.exclude)).map((r) => r.id);
    const verdict = binaryVerdict(unread, covered);
    if (verdict === 'content_skipped') this.fireLogic(verdict, f.path, `${f.path}: shown as binary (a NUL byte, or binary/-diff in .gitattributes), so ${unread.join(', ')} did not inspect it`);
    else if (verdict === 'binary') this.fireLogic(verdict, f.path);
  }

  /** Each applicable rule's matching lines become candidates (judged once moves are known); returns how many rules hit. */
  private keepCandidates(f: ChangedFile, applies: readonly CompiledRule[], onAdded: Found | null, onRemoved: Found | null): number {
    let hits = 0;
    for (const r of applies) {
      const a = onAdded?.get(r.pattern);
      if (a) this.candidates.push({ rule: r, file: f, side: 'added', lines: a.lines });
      const d = onRemoved?.get(r.removed);
      if (d) this.candidates.push({ rule: r, file: f, side: 'removed', lines: d.lines });
      if (a || d) hits++;
    }
    return hits;
  }

  private other(f: ChangedFile): void {
    this.fireLogic('other', f.path, f.status === 'deleted' ? `${f.path} deleted` : undefined);
  }

  finish(): Classification {
    return drain(this.finishing());
  }

  finishAsync(): Promise<Classification> {
    return drainAsync(this.finishing());
  }

  /** The verdict once every file is in: a few named decisions, in this order. */
  private *finishing(): Generator<void, Classification> {
    const moves = yield* this.moves();
    this.contentHits(moves);
    yield* this.dependencies(moves);
    const size = this.size();
    const level = this.intent(winningLevel(this.fired.values()));
    return { level, action: ACTIONS[level], reasons: this.reasons(), stats: { ...this.stats }, size };
  }

  /** Moves: candidate lines (content hits, manifest lines) whose text appears on the other side of the change. */
  private *moves(): Generator<void, Moves> {
    const candAdded = new Set<string>();
    const candRemoved = new Set<string>();
    for (const c of this.candidates) addTrimmed(c.side === 'added' ? candAdded : candRemoved, c.lines);
    for (const { f } of this.manifests) {
      addTrimmed(candAdded, f.added);
      addTrimmed(candRemoved, f.removed);
    }
    const movedIn = new Set<string>(); // added lines that were removed elsewhere
    const movedOut = new Set<string>(); // removed lines that were added elsewhere
    if (candAdded.size || candRemoved.size) yield* this.findMoves(candAdded, candRemoved, movedIn, movedOut);
    return { isNew: unmoved(movedIn), isGone: unmoved(movedOut) };
  }

  /** One pass over the change: candidate added lines removed elsewhere go to movedIn, candidate removed lines added elsewhere to movedOut. */
  private *findMoves(candAdded: ReadonlySet<string>, candRemoved: ReadonlySet<string>, movedIn: Set<string>, movedOut: Set<string>): Generator<void, void> {
    for (const f of this.all) {
      if (candAdded.size && f.removed) collectPresent(f.removed, candAdded, movedIn);
      if (candRemoved.size && f.added) collectPresent(f.added, candRemoved, movedOut);
      this.sincePause += changedLines(f);
      if (this.pauseDue()) yield;
    }
  }

  /** Content rules fire on their first line that is new (not moved); a file only they covered is "other" otherwise. */
  private contentHits({ isNew, isGone }: Moves): void {
    const hitFiles = new Set<ChangedFile>();
    for (const c of this.candidates) {
      const hit = c.lines.find(c.side === 'added' ? isNew : isGone);
      if (!hit) continue;
      this.fire(c.rule.id, c.rule.level, c.file.path, `${c.file.path}: ${hit.trim().slice(0, 80)}`);
      hitFiles.add(c.file);
    }
    for (const f of this.pendingOther) if (!hitFiles.has(f)) this.other(f);
  }

  /** Dependencies: a bump with its lockfile is Ship; a new one, or any change without a lockfile, is Ask. */
  private *dependencies(moves: Moves): Generator<void, void> {
    const anyLock = this.lockfiles.length > 0; // a monorepo's manifests may sit below its one lockfile
    for (const { f, m } of this.manifests) {
      const added = new Set<string>();
      const removed = new Set<string>();
      const skipped: Skipped = { long: 0, over: 0 };
      const otherLines = (yield* this.readManifest(f.added, moves.isNew, m, added, skipped)) + (yield* this.readManifest(f.removed, moves.isGone, m, removed, skipped));
      this.skipped(f, skipped);
      if (otherLines > 0) this.fireLogic('other', f.path, `${f.path}: changes outside the dependency lists`);
      this.fireDependencyChange(f.path, dependencyChange(added, removed, m.selfLocked === true || anyLock, f.added === undefined));
    }
    if (this.manifests.length === 0) for (const p of this.lockfiles) this.fireLogic('lockfile', p);
  }

  /** The dependencies named on one side of a manifest's change (moved lines left out); returns how many other lines with words it has. */
  private *readManifest(lines: readonly string[] | undefined, keep: (line: string) => boolean, m: Manifest, into: Set<string>, skipped: Skipped): Generator<void, number> {
    let otherLines = 0;
    for (const l of lines ?? []) {
      if (!keep(l)) continue;
      const d = this.inspect(l, skipped) ? m.parse(l) : null;
      if (d) into.add(d);
      else if (/\w/.test(l)) otherLines++;
      this.sincePause += 256; // a parse with captures costs more than a DFA pass
      if (this.pauseDue()) yield;
    }
    return otherLines;
  }

  private fireDependencyChange(path: string, c: DependencyChange): void {
    for (const n of c.fresh) this.fireLogic('new_dependency', path, `new dependency ${n} in ${path}`);
    for (const n of c.dropped) this.fireLogic('removed_dependency', path, `${n} removed from ${path}`);
    if (c.lock === 'dependency_bump') this.fireLogic(c.lock, path, c.bumped.length ? `${c.bumped.slice(0, 5).join(', ')} bumped in ${path}` : undefined);
    else if (c.lock === 'lockfile_missing') this.fireLogic(c.lock, path, `${path} changed without its lockfile`);
  }

  /** The size tier; over max_lines the change is too large to review: split it. */
  private size(): Classification['size'] {
    const { maxLines, sizeTiers } = this.rules;
    const lines = this.reviewable;
    const tier = sizeTier(lines, sizeTiers, maxLines);
    if (tier === 'xl')
      this.fireLogic('too_large', null, `${lines} changed lines (binaries, lockfiles and size_exclude not counted) > ${maxLines}: split it into pull requests of at most ${maxLines} lines`);
    return { lines, tier };
  }

  /** Intent: stated by the caller, checked against the diff. The diff always wins; the level it returns is final. */
  private intent(level: Level): Level {
    const { opts, fired } = this;
    if (!opts.intent || this.rules.logic.get('intent') === undefined) return level;
    const api = fired.get('exported_api')?.files ?? [];
    const newFiles = this.newSource.filter((p) => !api.includes(p));
    const denied = featureDenied(opts.intent, api, newFiles);
    if (denied !== null) {
      this.fire('intent', 'ask', null, `stated intent "${opts.intent}" but the diff ${denied}: the diff wins`);
      for (const p of [...api, ...newFiles]) this.fire('intent', 'ask', p);
      return 'ask';
    }
    const expected = expectedLevel(opts.intent);
    if (expected !== level && this.all.length > 0) {
      const top = [...fired.entries()].filter(([id, r]) => r.level === level && id !== 'intent').map(([id]) => id);
      this.fire('intent', level, null, `stated intent "${opts.intent}" suggests ${expected}, but the diff is ${level}${top.length ? ` (${top.join(', ')})` : ''}: the diff wins`);
    }
    return level;
  }

  /** One reason per rule that fired, highest level first; at most maxFilesPerReason files each (the count is in the message). */
  private reasons(): Reason[] {
    const rules = this.rules;
    const cap = this.opts.maxFilesPerReason ?? 50;
    return [...this.fired.entries()]
      .map(([rule, r]) => {
        const desc = (Object.hasOwn(LOGIC_RULES, rule) ? LOGIC_RULES[rule]?.description : undefined) ?? [...rules.pathRules, ...rules.contentRules].find((x) => x.id === rule)?.description ?? rule;
        const more = r.files.length > cap ? ` (+${r.files.length - cap} more files)` : '';
        const message = (r.notes.length ? r.notes.join('; ') : `${desc}: ${r.files.length} file${r.files.length === 1 ? '' : 's'}`) + more;
        return { level: r.level, rule, files: r.files.slice(0, cap), message };
      })
      .sort((a, b) => RANK[b.level] - RANK[a.level] || a.rule.localeCompare(b.rule));
  }
}

/** Classifies a whole change at once (see Classifier). */
export function classify(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Classification {
  const c = new Classifier(rules, opts);
  for (const f of files) c.add(f);
  return c.finish();
}

/** The same, pausing for the event loop while it inspects content (a server's classify_change). */
export async function classifyAsync(files: readonly ChangedFile[], rules: CompiledRules, opts: ClassifyOptions = {}): Promise<Classification> {
  const c = new Classifier(rules, opts);
  for (const f of files) await c.addAsync(f);
  return c.finishAsync();
}
