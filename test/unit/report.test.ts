import { describe, expect, it } from 'vitest';
import { buildReport, cycles, duration, isoWeekLabel, reportMarkdown, reportRange, type ReportInput } from '../../src/report/domain.js';

const D = (s: string) => Date.parse(`${s}Z`);
const WED = D('2026-11-25T09:00:00');

function input(over: Partial<ReportInput> = {}): ReportInput {
  return { range: reportRange(WED, '2026-11-23', '2026-11-30'), phases: [], merges: [], changes: [], dod: [], components: [], ...over };
}

describe('the cycle report period', () => {
  it('defaults to the last 7 days, today (UTC) included', () => {
    expect(reportRange(WED)).toEqual({ start: D('2026-11-19T00:00:00'), end: D('2026-11-26T00:00:00') });
  });

  it('takes dates (until includes its day) or ISO date-times, and names the field it refuses', () => {
    expect(reportRange(WED, '2026-11-01', '2026-11-01')).toEqual({ start: D('2026-11-01T00:00:00'), end: D('2026-11-02T00:00:00') });
    expect(reportRange(WED, '2026-11-01T12:00:00Z', '2026-11-02T00:00:00Z')).toEqual({ start: D('2026-11-01T12:00:00'), end: D('2026-11-02T00:00:00') });
    expect(() => reportRange(WED, 'last week')).toThrow(/^since: expected a date YYYY-MM-DD/);
    expect(() => reportRange(WED, undefined, '2026-13-45')).toThrow(/^until: /);
    expect(() => reportRange(WED, '2026-11-05', '2026-11-01')).toThrow(/^since: must be before until/);
  });

  it('cuts a period at ISO week boundaries (Monday, UTC), labelled by ISO week', () => {
    expect(isoWeekLabel(D('2026-11-23T00:00:00'))).toBe('2026-W48');
    expect(isoWeekLabel(D('2026-01-01T00:00:00'))).toBe('2026-W01');
    expect(isoWeekLabel(D('2027-01-01T00:00:00'))).toBe('2026-W53');
    const c = cycles(reportRange(WED, '2026-11-20', '2026-11-30'));
    expect(c.map((x) => [x.cycle, new Date(x.range.start).toISOString().slice(0, 10), (x.range.end - x.range.start) / 86_400_000])).toEqual([
      ['2026-W47', '2026-11-20', 3],
      ['2026-W48', '2026-11-23', 7],
      ['2026-W49', '2026-11-30', 1],
    ]);
  });

  it('writes every duration in one format', () => {
    expect([0, 45_000, 12 * 60_000, 3 * 3600_000 + 5 * 60_000, 2 * 86_400_000 + 4 * 3600_000, 7 * 86_400_000].map(duration)).toEqual(['0s', '45s', '12m', '3h 05m', '2d 4h', '7d']);
  });
});

describe('the cycle report figures', () => {
  it('counts points, velocity, issues, PRs once each, components and regressions per cycle', () => {
    const r = buildReport(
      input({
        phases: [
          { mega: 'M', id: '1', points: 3, tickets: ['T-1', 'T-2'], completed_at: D('2026-11-25T11:00:00'), pr: 12 },
          { mega: 'M', id: '2', points: 4, tickets: ['T-2'], completed_at: D('2026-11-26T11:00:00'), pr: null },
          { mega: 'M', id: '3', points: null, tickets: [], completed_at: D('2026-11-30T08:00:00'), pr: null },
        ],
        merges: [
          { seq: 5, ts: D('2026-11-25T12:00:00'), pr: 12 }, // the same PR as phase 1's
          { seq: 6, ts: D('2026-11-26T12:00:00'), pr: null },
        ],
        changes: [{ ts: D('2026-11-24T10:00:00'), files: ['src/api/a.ts', 'web/app.tsx', 'README.md'] }],
        checked: [{ ts: D('2026-11-30T09:00:00'), components: ['ui'] }],
        dod: [
          { id: 1, ts: D('2026-11-30T09:00:00'), mega: 'M', phase: '3', regression: true },
          { id: 2, ts: D('2026-11-30T09:30:00'), mega: 'M', phase: '3', regression: true }, // the same phase again
          { id: 3, ts: D('2026-11-30T10:00:00'), mega: null, phase: null, regression: false },
        ],
        components: [{ name: 'api', paths: ['src/api'] }],
      }),
    );
    expect(r.cycles.map((c) => c.cycle)).toEqual(['2026-W48', '2026-W49']);
    expect(r.cycles[0]).toMatchObject({
      duration: '7d',
      days: 7,
      points: 7,
      velocity: 1,
      phases_closed: 2,
      tickets_closed: 2,
      prs_merged: 2,
      components: ['(root)', 'api', 'web'],
      regressions: 0,
      empty: false,
    });
    expect(r.cycles[1]).toMatchObject({ duration: '1d', days: 1, points: 0, velocity: 0, phases_closed: 1, tickets_closed: 0, prs_merged: 0, components: ['ui'], regressions: 1 });
    expect(r.total).toMatchObject({ cycle: 'total', days: 8, points: 7, velocity: 0.88, phases_closed: 3, prs_merged: 2, regressions: 1 });
    expect(r.days).toHaveLength(8);
    expect(r.days.filter((d) => d.points > 0)).toEqual([
      { day: '2026-11-25', points: 3 },
      { day: '2026-11-26', points: 4 },
    ]);
    const md = reportMarkdown(r);
    expect(md).toContain('## Cycle report 2026-11-23 – 2026-11-30');
    expect(md).toContain('| cycle | duration | points | velocity (pts/day) | issues closed (phases / tickets) | PRs merged | components touched | regressions on main |');
    expect(md).toContain('| 2026-W48 | 7d | 7 | 1 | 2 / 2 | 2 | (root), api, web | 0 |');
    expect(md).toContain('| total | 8d | 7 | 0.88 | 3 / 2 | 2 | (root), api, ui, web | 1 |');
  });

  it('says so when the period has no data', () => {
    const r = buildReport(input());
    expect(r.empty).toBe(true);
    expect(r.message).toMatch(/^No data from 2026-11-23 – 2026-11-30: no phase completed/);
    expect(r.days.every((d) => d.points === 0)).toBe(true);
    expect(reportMarkdown(r)).toMatch(/## Cycle report 2026-11-23 – 2026-11-30\n\nNo data from .*: no phase completed.*\.\n$/);
  });
});
