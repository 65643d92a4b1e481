/**
 * Definition of Done: the pure parts. Aggregation (no partial credit), test reports (JUnit XML,
 * vitest/jest JSON), regressions, lint warnings against a baseline, diffs, CI verdicts, state
 * and session verdicts, component detection and component paths. No I/O here.
 */
import { RE2JS } from 're2js';
import type { z } from 'zod';
import type { DodCheckResultSchema } from '../../schemas/dod.js';
import { clip as clipText } from '../core/text.js';
import { compileGlobs, type PathMatcher } from '../core/glob.js';

/** A check's outcome; `skip` counts as done only when the config asked for it (`by_config`). */
export const DOD_STATUSES = ['pass', 'fail', 'skip', 'error'] as const;
export type DodStatus = (typeof DOD_STATUSES)[number];

/** One check's result, as check_dod answers it (the schema in schemas/dod.ts is its one definition). */
export type CheckResult = z.output<typeof DodCheckResultSchema>;

export interface Verdict {
  status: DodStatus;
  detail: string;
  by_config?: boolean;
}

const MAX_DETAIL = 600;

/** A check the config says does not apply. */
export function configSkip(detail: string): Verdict {
  return { status: 'skip', detail, by_config: true };
}

/** A check counts as done when it passed, or when the config says it does not apply (a skip by config). */
export function isOk(c: { status: DodStatus; by_config?: boolean | undefined }): boolean {
  return c.status === 'pass' || (c.status === 'skip' && c.by_config === true);
}

/**
 * Binary: passed only when all `total` checks ran and each passed or was skipped by config.
 * The score counts the skipped ones apart: "10/10", "7/10", or "8/8 passed, 2 skipped by config".
 */
export function aggregate(checks: readonly CheckResult[], total: number, extraOk = true): { passed: boolean; score: string; skipped: number } {
  const skipped = checks.filter((c) => c.status === 'skip' && c.by_config === true).length;
  const passing = checks.filter((c) => c.status === 'pass').length;
  const ok = passing + skipped;
  const score = skipped ? `${passing}/${checks.length - skipped} passed, ${skipped} skipped by config` : `${ok}/${checks.length}`;
  return { passed: checks.length === total && ok === total && extraOk, score, skipped };
}

/** One check over several components: any fail, then any error, then pass, and skip only when all skipped. */
export function combine(parts: readonly { component: string; status: DodStatus; detail: string; by_config?: boolean | undefined }[]): Verdict {
  if (parts.length === 1) return { status: parts[0]!.status, detail: parts[0]!.detail, ...(parts[0]!.by_config ? { by_config: true } : {}) };
  const order: DodStatus[] = ['fail', 'error', 'pass', 'skip'];
  const status = order.find((s) => parts.some((p) => p.status === s)) ?? 'skip';
  const shown = parts.filter((p) => !isOk(p));
  const detail = (shown.length ? shown : parts).map((p) => `[${p.component}] ${p.detail}`).join('; ');
  const byConfig = status === 'skip' && parts.every((p) => p.by_config === true);
  return { status, detail: clipDetail(detail), ...(byConfig ? { by_config: true } : {}) };
}

/** The verdict of a check that threw: an error naming it, never a crashed run. */
export function internalError(e: unknown): Verdict {
  return { status: 'error', detail: clipDetail(`internal error: ${(e as Error).message}`) };
}

/** A check's detail, clipped to what a result shows unless told otherwise. */
export function clipDetail(s: string, max = MAX_DETAIL): string {
  return clipText(s, max);
}

/** A duration as details show it: `1.2s`. */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The lines worth showing from a failing command: the first that look like errors, else the last ones. */
export function excerpt(output: string, maxLines = 8): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const hits = lines.filter((l) => /error|fail|✖|✗|not ok|warn|expected|assert/i.test(l));
  const pick = (hits.length ? hits.slice(0, maxLines) : lines.slice(-maxLines)).map((l) => clipDetail(l.trim(), 160));
  return pick.join(' | ');
}

// ------------------------------------------------------------------ test reports

export interface TestOutcomes {
  passed: string[];
  failed: string[];
}

const decodeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');

/** Attribute readers on RE2: a report is written by the tests, so by the agent; no input may backtrack. */
const ATTRS = new Map(['name', 'classname', 'failure'].map((n) => [n, RE2JS.compile(`\\b${n}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`)]));

function attr(attrs: string, name: 'name' | 'classname' | 'failure'): string | undefined {
  const m = (ATTRS.get(name) as RE2JS).exec(attrs) as (string | undefined)[] | null;
  return m ? decodeXml(m[1] ?? m[2] ?? '') : undefined;
}

/** Parses a JUnit XML report or a vitest/jest JSON report into passed and failed test names. */
export function parseTestReport(text: string): TestOutcomes {
  const t = text.trim();
  if (t.startsWith('{')) return parseJsonReport(JSON.parse(t) as unknown);
  if (t.startsWith('<')) return parseJunit(t);
  throw new Error('not a JUnit XML or JSON test report');
}

/** `<testcase …/>` and `<testcase …>…</testcase>`, found by a linear scan (a lazy regex would rescan the rest of a report per unclosed tag). */
function parseJunit(xml: string): TestOutcomes {
  const out: TestOutcomes = { passed: [], failed: [] };
  const OPEN = '<testcase';
  const CLOSE = '</testcase>';
  let closes = true; // false once no closing tag is left: later open tags can only be self-closing
  for (let at = xml.indexOf(OPEN); at >= 0; at = xml.indexOf(OPEN, at + 1)) {
    if (/\w/.test(xml.charAt(at + OPEN.length))) continue; // <testcases…: another element
    const gt = xml.indexOf('>', at + OPEN.length);
    if (gt < 0) break;
    const selfClosing = xml.charAt(gt - 1) === '/';
    const attrs = xml.slice(at + OPEN.length, selfClosing ? gt - 1 : gt);
    let body = '';
    if (!selfClosing) {
      const end = closes ? xml.indexOf(CLOSE, gt + 1) : -1;
      if (end < 0) {
        closes = false;
        continue;
      }
      body = xml.slice(gt + 1, end);
      at = end;
    }
    const name = attr(attrs, 'name') ?? '';
    const cls = attr(attrs, 'classname');
    const full = cls && cls !== 'test' ? `${cls} > ${name}` : name;
    if (/<skipped\b/.test(body)) continue;
    if (/<(failure|error)\b/.test(body) || attr(attrs, 'failure') !== undefined) out.failed.push(full);
    else out.passed.push(full);
  }
  return out;
}

function parseJsonReport(r: unknown): TestOutcomes {
  const out: TestOutcomes = { passed: [], failed: [] };
  const files = (r as { testResults?: unknown }).testResults;
  if (!Array.isArray(files)) throw new Error('JSON report without testResults (expected vitest/jest --reporter=json)');
  for (const f of files as { name?: string; assertionResults?: { fullName?: string; title?: string; status?: string }[] }[]) {
    for (const a of f.assertionResults ?? []) {
      const name = a.fullName ?? a.title ?? '';
      if (a.status === 'passed') out.passed.push(name);
      else if (a.status === 'failed') out.failed.push(name);
    }
  }
  return out;
}

/** Tests that passed on the baseline and fail now. */
export function regressions(baselinePassed: readonly string[], now: TestOutcomes): string[] {
  const was = new Set(baselinePassed);
  return [...new Set(now.failed.filter((n) => was.has(n)))];
}

// ------------------------------------------------------------------ lint warnings

/**
 * The configured warning pattern, on RE2 (linear time): lint output is the agent's to shape, so a
 * backtracking engine would let it hold the server's thread. Throws for what RE2 cannot compile.
 */
export function warningMatcher(pattern: string): RE2JS {
  return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
}

/**
 * Warning lines of a lint run, normalized so that the same warning on the baseline compares
 * equal: roots replaced by ".", line:column numbers dropped, summary lines ("3 warnings") left out.
 */
export function lintWarnings(output: string, pattern: string, roots: readonly string[] = []): string[] {
  const re = warningMatcher(pattern);
  const out: string[] = [];
  for (const raw of output.split(/\r?\n/)) {
    if (!re.test(raw)) continue;
    if (/^\W*\d+\s+(problems?|warnings?|errors?)\b/i.test(raw) || /\(\d+ errors?, \d+ warnings?\)/i.test(raw)) continue;
    let l = raw;
    for (const r of roots) if (r) l = l.split(r).join('.');
    l = l
      .replace(/^\s*\d+:\d+\s+/, '')
      .replace(/:\d+(:\d+)?\b/g, '')
      .replace(/\(\d+,\s*\d+\)/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    out.push(l);
  }
  return out;
}

/** Warnings present now beyond those on the baseline (a multiset difference). */
export function newWarnings(now: readonly string[], baseline: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const w of baseline) left.set(w, (left.get(w) ?? 0) + 1);
  const out: string[] = [];
  for (const w of now) {
    const n = left.get(w) ?? 0;
    if (n > 0) left.set(w, n - 1);
    else out.push(w);
  }
  return out;
}

/** Total line coverage (percent) from an istanbul json-summary file. */
export function coveragePct(summaryJson: string): number {
  const pct = (JSON.parse(summaryJson) as { total?: { lines?: { pct?: unknown } } }).total?.lines?.pct;
  if (typeof pct !== 'number') throw new Error('no total.lines.pct in the coverage summary');
  return pct;
}

// ------------------------------------------------------------------ diffs and globs

/** Added line numbers per file (new side) from `git diff -U0`. */
export function addedLines(diff: string): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  let file: string | null = null;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+++ ')) {
      const p = line.slice(4).trim();
      file = p === '/dev/null' ? null : p.replace(/^"?b\//, '').replace(/"$/, '');
      if (file !== null && !out.has(file)) out.set(file, new Set());
      continue;
    }
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (h && file !== null) {
      const start = Number(h[1]);
      const count = h[2] === undefined ? 1 : Number(h[2]);
      const set = out.get(file) as Set<number>;
      for (let i = 0; i < count; i++) set.add(start + i);
    }
  }
  return out;
}

/**
 * The files a component owns: each of its paths is a glob (src/core/glob.ts, the engine the change
 * rules use too) or a directory, whose files it owns at any depth (`packages/api`).
 */
export function componentPaths(paths: readonly string[]): PathMatcher {
  return compileGlobs([...paths, ...paths.map((g) => g.replace(/\/?$/, '/**'))]);
}

// ------------------------------------------------------------------ component detection

export interface DetectedCommands {
  compiles?: string[];
  tests?: string[];
  lint?: string[];
  format?: string[];
}

/**
 * One component guessed from marker files: package.json scripts (typecheck or build, test,
 * lint, format:check), Cargo.toml, go.mod, pyproject.toml. A plain `format` script is used
 * only when it checks: it usually rewrites files, which a check must never do.
 */
export function detectCommands(files: { packageJson?: string; cargo?: boolean; gomod?: boolean; pyproject?: boolean }): { commands: DetectedCommands; detail: string } | null {
  if (files.packageJson !== undefined) {
    let scripts: Record<string, unknown> = {};
    try {
      scripts = ((JSON.parse(files.packageJson) as { scripts?: Record<string, unknown> }).scripts ?? {}) as Record<string, unknown>;
    } catch {
      /* an unreadable package.json detects nothing */
    }
    const pick = (...names: string[]) => names.find((n) => typeof scripts[n] === 'string');
    const run = (n: string | undefined) => (n ? ['npm', 'run', '--silent', n] : undefined);
    // A plain `format` script counts only when it checks (prettier --check, --list-different…).
    const checkingFormat = typeof scripts.format === 'string' && /--check\b|--list-different|--verify|\s-l\b/.test(scripts.format) ? 'format' : undefined;
    const c = { compiles: pick('typecheck', 'build'), tests: pick('test'), lint: pick('lint'), format: pick('format:check', 'check:format', 'format-check', 'prettier:check') ?? checkingFormat };
    const commands: DetectedCommands = { compiles: run(c.compiles), tests: run(c.tests), lint: run(c.lint), format: run(c.format) };
    const found = Object.entries(c)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}=npm run ${v}`);
    return { commands, detail: `package.json scripts: ${found.join(', ') || 'none'}` };
  }
  if (files.cargo) {
    return {
      commands: { compiles: ['cargo', 'build'], tests: ['cargo', 'test'], lint: ['cargo', 'clippy', '--', '-D', 'warnings'], format: ['cargo', 'fmt', '--check'] },
      detail: 'Cargo.toml: cargo build/test/clippy/fmt --check',
    };
  }
  if (files.gomod) return { commands: { compiles: ['go', 'build', './...'], tests: ['go', 'test', './...'], lint: ['go', 'vet', './...'] }, detail: 'go.mod: go build/test/vet' };
  if (files.pyproject) {
    return {
      commands: { compiles: ['python3', '-m', 'compileall', '-q', '.'], tests: ['python3', '-m', 'pytest', '-q'], lint: ['ruff', 'check', '.'], format: ['ruff', 'format', '--check', '.'] },
      detail: 'pyproject.toml: compileall, pytest, ruff',
    };
  }
  return null;
}

// ------------------------------------------------------------------ CI, state, session

export type CiState = 'success' | 'failure' | 'pending';
export interface CiCheck {
  name: string;
  state: CiState;
}

/** Required checks must each exist and be green; with none configured, at least `min` checks, all green. */
export function ciVerdict(checks: readonly CiCheck[], required: readonly string[], min: number): Verdict {
  const byName = new Map<string, CiState>();
  for (const c of checks) if (!byName.has(c.name)) byName.set(c.name, c.state); // newest first, as GitHub lists them
  const names = required.length ? required : [...byName.keys()];
  const problems: string[] = [];
  for (const n of names) {
    const s = byName.get(n);
    if (s === undefined) problems.push(`${n} missing`);
    else if (s === 'failure') problems.push(`${n} failed`);
    else if (s === 'pending') problems.push(`${n} still running`);
  }
  if (!required.length && byName.size < min) problems.unshift(`${byName.size} check(s) reported, at least ${min} required`);
  if (problems.length) return { status: 'fail', detail: clipDetail(problems.join('; ')) };
  return { status: 'pass', detail: `${names.length} check(s) green: ${clipDetail(names.join(', '), 200)}` };
}

export interface OpLite {
  ts: number;
  instance: string | null;
  kind: string;
  mega: string | null;
  phase: string | null;
}

/** A checkpoint for the phase and a memory or plan change since the claim. */
export function stateVerdict(ops: readonly OpLite[], mega: string, phase: string, claimedAt: number): Verdict {
  const since = ops.filter((o) => o.ts >= claimedAt);
  const checkpoint = since.some((o) => o.kind === 'checkpoint' && o.mega === mega && o.phase === phase);
  const state = since.some((o) => (o.kind === 'memory' || o.kind === 'plan' || o.kind === 'replan') && (o.mega === null || o.mega === mega));
  if (checkpoint && state) return { status: 'pass', detail: 'checkpoint and memory/plan updated since the claim' };
  const missing = [checkpoint ? null : 'no checkpoint for this phase since the claim (call checkpoint)', state ? null : 'memory and plan unchanged since the claim (call memory append)'].filter(
    Boolean,
  );
  return { status: 'fail', detail: missing.join('; ') };
}

/** The owner session opened with SESSION-START and logged operations for the phase. */
export function sessionVerdict(ops: readonly OpLite[], owner: string | null, mega: string, phase: string): Verdict {
  if (!owner) return { status: 'fail', detail: 'the phase has no owner session' };
  const started = ops.some((o) => o.kind === 'session_start' && o.instance === owner);
  const forPhase = ops.filter((o) => o.instance === owner && o.mega === mega && o.phase === phase).length;
  if (!started) return { status: 'fail', detail: `session ${owner} has no SESSION-START in the operations log (call session_start)` };
  if (!forPhase) return { status: 'fail', detail: `session ${owner} logged no operations for ${mega}/${phase}` };
  return { status: 'pass', detail: `session ${owner}: SESSION-START and ${forPhase} operation(s) for the phase` };
}
