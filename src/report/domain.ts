/**
 * The cycle report, as pure figures: a period cut into cycles (ISO weeks, UTC), and for each its
 * duration, story points completed, velocity, issues closed, PRs merged, components touched and
 * regressions on main. No I/O: the rows come from src/report/store.ts.
 */
import { InputError } from '../core/errors.js';
import { componentPaths } from '../dod/domain.js';
import { tableCell } from '../core/text.js';
import { iso, isoDay } from '../core/time.js';

export const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** A half-open period [start, end) in epoch milliseconds. */
export interface Range {
  start: number;
  end: number;
}

export interface CompletedPhase {
  mega: string;
  id: string;
  points: number | null;
  tickets: string[];
  completed_at: number;
  /** The pull request DoD's pr_created found for it, if any. */
  pr: number | null;
}

/** An operations-log entry saying a PR was merged (kind `merge` or `pr_merged`). */
export interface MergeEntry {
  seq: number;
  ts: number;
  pr: number | null;
}

/** A Ship/Show/Ask classification: when, and the files its reasons name. */
export interface ClassifiedChange {
  ts: number;
  files: string[];
}

/** The configured components a DoD run checked (the ones its change touched). */
export interface CheckedComponents {
  ts: number;
  components: string[];
}

export interface DodEntry {
  id: number;
  ts: number;
  mega: string | null;
  phase: string | null;
  /** Its no_regressions check failed. */
  regression: boolean;
}

export interface ReportInput {
  range: Range;
  phases: CompletedPhase[];
  merges: MergeEntry[];
  changes: ClassifiedChange[];
  checked?: CheckedComponents[];
  dod: DodEntry[];
  /** Configured DoD components: a changed file counts for the one whose paths match it. */
  components: readonly { name: string; paths: readonly string[] }[];
}

export interface CycleFigures {
  /** `2026-W48`, or `total`. */
  cycle: string;
  start: string;
  end: string;
  /** The cycle's length in the one duration format (`7d`, `2d 4h`). */
  duration: string;
  days: number;
  points: number;
  /** Story points per day. */
  velocity: number;
  phases_closed: number;
  tickets_closed: number;
  prs_merged: number;
  components: string[];
  regressions: number;
  /** Nothing was completed, merged, classified or checked in it. */
  empty: boolean;
}

export interface CycleReport {
  since: string;
  until: string;
  cycles: CycleFigures[];
  total: CycleFigures;
  /** Story points completed per UTC day of the period, zero-filled (the dashboard's chart). */
  days: { day: string; points: number }[];
  empty: boolean;
  /** Said when the period has no data. */
  message?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `--since`/`--until` value: `YYYY-MM-DD` (UTC; `until` includes that day) or an ISO date-time. */
export function parseDate(field: string, v: string, endOfDay: boolean): number {
  const ms = DATE.test(v) ? Date.parse(`${v}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw new InputError(field, `expected a date YYYY-MM-DD or an ISO date-time, got ${JSON.stringify(v)}`);
  return endOfDay && DATE.test(v) ? ms + DAY : ms;
}

export const utcDay = (ms: number): number => Math.floor(ms / DAY) * DAY;

/** The period asked for; by default the last 7 days, today (UTC) included. */
export function reportRange(now: number, since?: string | null, until?: string | null): Range {
  const end = until ? parseDate('until', until, true) : utcDay(now) + DAY;
  const start = since ? parseDate('since', since, false) : end - WEEK;
  if (start >= end) throw new InputError('since', `must be before until (${iso(start)} is not before ${iso(end)})`);
  if (end - start > 366 * DAY) throw new InputError('since', 'a report covers at most 366 days');
  return { start, end };
}

/** Monday 00:00 UTC of the ISO week holding `ms`. */
export function isoWeekStart(ms: number): number {
  const day = utcDay(ms);
  const dow = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return day - dow * DAY;
}

/** `2026-W48`: the ISO week (the year of its Thursday). */
export function isoWeekLabel(ms: number): string {
  const thursday = new Date(isoWeekStart(ms) + 3 * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - isoWeekStart(Date.UTC(year, 0, 4))) / WEEK);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The period cut at ISO week boundaries. */
export function cycles(range: Range): { cycle: string; range: Range }[] {
  const out: { cycle: string; range: Range }[] = [];
  for (let s = range.start; s < range.end;) {
    const e = Math.min(isoWeekStart(s) + WEEK, range.end);
    out.push({ cycle: isoWeekLabel(s), range: { start: s, end: e } });
    s = e;
  }
  return out;
}

/**
 * One duration format for the report and the dashboard: `45s`, `12m`, `3h 05m`, `2d 4h`, `7d`.
 * The dashboard imports this very function: src/http/assets.ts serves it as /format.js.
 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** The component a changed file belongs to: the configured one whose paths match, else its top folder. */
export function componentOf(file: string, matchers: readonly { name: string; test: (f: string) => boolean }[]): string {
  const hit = matchers.find((m) => m.test(file));
  if (hit) return hit.name;
  const slash = file.indexOf('/');
  return slash > 0 ? file.slice(0, slash) : '(root)';
}

const within = (ts: number, r: Range) => ts >= r.start && ts < r.end;

/** The figures of one cycle from the rows of the whole period. */
export function cycleFigures(cycle: string, r: Range, input: ReportInput, matchers: readonly { name: string; test: (f: string) => boolean }[]): CycleFigures {
  const phases = input.phases.filter((p) => within(p.completed_at, r));
  const merges = input.merges.filter((m) => within(m.ts, r));
  const changes = input.changes.filter((c) => within(c.ts, r));
  const dod = input.dod.filter((d) => within(d.ts, r));
  const points = phases.reduce((n, p) => n + (p.points ?? 0), 0);
  const days = (r.end - r.start) / DAY;
  // A PR counts once whether a merge entry or a completed phase's pull names it.
  const prs = new Set<string>();
  for (const p of phases) if (p.pr !== null) prs.add(`#${p.pr}`);
  for (const m of merges) prs.add(m.pr !== null ? `#${m.pr}` : `op${m.seq}`);
  const regressions = new Set(dod.filter((d) => d.regression).map((d) => (d.mega !== null ? `${d.mega}/${d.phase}` : `run${d.id}`)));
  const checked = (input.checked ?? []).filter((c) => within(c.ts, r)).flatMap((c) => c.components);
  const components = [...new Set([...changes.flatMap((c) => c.files.map((f) => componentOf(f, matchers))), ...checked])].sort();
  return {
    cycle,
    start: iso(r.start),
    end: iso(r.end),
    duration: duration(r.end - r.start),
    days: round(days),
    points: round(points),
    velocity: days > 0 ? round(points / days) : 0,
    phases_closed: phases.length,
    tickets_closed: new Set(phases.flatMap((p) => p.tickets)).size,
    prs_merged: prs.size,
    components,
    regressions: regressions.size,
    empty: phases.length + merges.length + changes.length + dod.length === 0,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The whole report: a row per cycle, the total, and points per day. */
export function buildReport(input: ReportInput): CycleReport {
  const matchers = input.components.map((c) => ({ name: c.name, test: componentPaths(c.paths).test }));
  const rows = cycles(input.range).map((c) => cycleFigures(c.cycle, c.range, input, matchers));
  const total = cycleFigures('total', input.range, input, matchers);
  const days: { day: string; points: number }[] = [];
  for (let d = utcDay(input.range.start); d < input.range.end; d += DAY) {
    const r = { start: d, end: d + DAY };
    days.push({ day: isoDay(d), points: round(input.phases.filter((p) => within(p.completed_at, r)).reduce((n, p) => n + (p.points ?? 0), 0)) });
  }
  const report: CycleReport = { since: total.start, until: total.end, cycles: rows, total, days, empty: total.empty };
  if (total.empty) report.message = `No data from ${periodLabel(input.range)}: no phase completed, no PR merged, no change classified and no DoD run in this period`;
  return report;
}

/** `2026-11-23 – 2026-11-29` (the last day included). */
export function periodLabel(r: Range): string {
  const last = r.end - 1;
  const exact = r.start % DAY === 0 && r.end % DAY === 0;
  return exact ? `${isoDay(r.start)} – ${isoDay(last)}` : `${iso(r.start)} – ${iso(r.end)}`;
}

const COLUMNS = ['cycle', 'duration', 'points', 'velocity (pts/day)', 'issues closed (phases / tickets)', 'PRs merged', 'components touched', 'regressions on main'];

function row(c: CycleFigures): string {
  const cells = [c.cycle, c.duration, String(c.points), String(c.velocity), `${c.phases_closed} / ${c.tickets_closed}`, String(c.prs_merged), c.components.join(', ') || '–', String(c.regressions)];
  return `| ${cells.map(tableCell).join(' | ')} |`;
}

/** The report as Markdown: a heading with the period, and the table (or the sentence saying there is no data). */
export function reportMarkdown(r: CycleReport): string {
  const range = { start: Date.parse(r.since), end: Date.parse(r.until) };
  const head = `## Cycle report ${periodLabel(range)}`;
  if (r.empty) return `${head}\n\n${r.message ?? 'No data'}.\n`;
  const rows = r.cycles.length > 1 ? [...r.cycles, r.total] : r.cycles;
  return `${head}\n\n| ${COLUMNS.join(' | ')} |\n|${COLUMNS.map(() => '---').join('|')}|\n${rows.map(row).join('\n')}\n`;
}
