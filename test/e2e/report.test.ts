import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTx } from '../../src/core/db.js';
import { parseConfig } from '../../src/core/config.js';
import { apiRoutes } from '../../src/http/api.js';
import { cycleReport } from '../../src/report/service.js';
import { harness, type Harness } from '../helpers/server.js';
import { CLI } from '../helpers/stdio.js';

const HOUR = 3600_000;
const D = (s: string) => Date.parse(`${s}Z`);
let h: Harness;

/**
 * A week of work through the real tools on a real database (SQLite, or PostgreSQL in that project), at known times (the harness clock
 * starts Wednesday 2026-11-25 09:00 UTC, ISO week 48): phases 1 and 2 done in week 48, phase 3
 * on Monday of week 49 with a regression on main found by its DoD run, phase 4 never done.
 */
beforeAll(async () => {
  h = await harness();
  const a = await h.connect({ name: 'reporter' });
  await a.call('plan_mega', {
    key: 'REP-1',
    title: 'Report seed',
    phases: [
      { id: 1, name: 'API', points: 3, tickets: ['REP-11', 'REP-12'] },
      { id: 2, name: 'Docs', points: 5, tickets: ['REP-13'] },
      { id: 3, name: 'UI', points: 2 },
      { id: 4, name: 'Later', points: 8 },
    ],
  });
  const c1 = await a.call<{ token: string }>('claim_phase', { mega: 'REP-1', phase: 1 });
  h.clock.advance(2 * HOUR); // Wed 11:00
  await a.call('complete_phase', { mega: 'REP-1', phase: 1, token: c1.token });
  const c2 = await a.call<{ token: string }>('claim_phase', { mega: 'REP-1', phase: 2 });
  await a.call('classify_change', {
    files: [
      { path: 'src/api/routes.ts', additions: 10, deletions: 2 },
      { path: 'docs/api.md', additions: 5, deletions: 0 },
    ],
    mega: 'REP-1',
    phase: 2,
    token: c2.token,
  });
  h.clock.advance(24 * HOUR); // Thu 11:00
  await a.call('complete_phase', { mega: 'REP-1', phase: 2, token: c2.token });
  await a.call('log_operation', { kind: 'merge', message: 'merged PR #41', data: { pr: 41 } });
  await a.call('log_operation', { kind: 'pr_merged', message: 'merged PR #41 (again, from CI)', data: { pr: '#41' } });
  await a.call('log_operation', { kind: 'merge', message: 'merged PR #42', data: { pr: 42 } });
  h.clock.now = D('2026-11-30T10:00:00'); // Monday, week 49
  const c3 = await a.call<{ token: string }>('claim_phase', { mega: 'REP-1', phase: 3 });
  // check_dod's record of a run whose no_regressions check failed (running the real checks needs a repository with tests).
  await writeTx(
    h.store.sql,
    () =>
      h.store.dod.record(
        h.clock.now,
        {
          instance: null,
          mega: 'REP-1',
          phase: '3',
          tree: 't',
          base: 'b',
          passed: false,
          partial: false,
          score: '9/10',
          cached: false,
          checks: [{ id: 'no_regressions', status: 'fail', duration_ms: 5, detail: '1 test passing on main fails here: ui.test.ts > renders' }],
        },
        ['ui'],
      ), // the configured component the run checked
  );
  h.clock.advance(HOUR);
  await a.call('complete_phase', { mega: 'REP-1', phase: 3, token: c3.token });
  await a.call('claim_phase', { mega: 'REP-1', phase: 4 });
}, 30_000);

afterAll(async () => {
  await h.close();
});

const deps = () => ({ store: h.store, config: parseConfig({}), clock: h.clock.fn });

describe('the cycle report of a seeded database', () => {
  it('gives the known figures per ISO week and in total', async () => {
    const r = await cycleReport(deps(), { since: '2026-11-23', until: '2026-11-30' });
    expect(r.cycles).toHaveLength(2);
    expect(r.cycles[0]).toMatchObject({
      cycle: '2026-W48',
      duration: '7d',
      points: 8,
      velocity: 1.14,
      phases_closed: 2,
      tickets_closed: 3,
      prs_merged: 2,
      components: ['docs', 'src'],
      regressions: 0,
    });
    expect(r.cycles[1]).toMatchObject({ cycle: '2026-W49', duration: '1d', points: 2, velocity: 2, phases_closed: 1, tickets_closed: 0, prs_merged: 0, components: ['ui'], regressions: 1 });
    expect(r.total).toMatchObject({ days: 8, points: 10, velocity: 1.25, phases_closed: 3, tickets_closed: 3, prs_merged: 2, components: ['docs', 'src', 'ui'], regressions: 1 });
    expect(r.days.filter((d) => d.points)).toEqual([
      { day: '2026-11-25', points: 3 },
      { day: '2026-11-26', points: 5 },
      { day: '2026-11-30', points: 2 },
    ]);
  });

  it('by default covers the last 7 days up to today', async () => {
    const r = await cycleReport(deps());
    expect([r.since, r.until]).toEqual(['2026-11-24T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
    expect(r.cycles.map((c) => [c.cycle, c.duration, c.points])).toEqual([
      ['2026-W48', '6d', 8],
      ['2026-W49', '1d', 2],
    ]);
  });

  it('says so for a week with no data', async () => {
    const r = await cycleReport(deps(), { since: '2026-10-05', until: '2026-10-11' });
    expect(r).toMatchObject({ empty: true, total: { points: 0, phases_closed: 0, prs_merged: 0 } });
    expect(r.message).toMatch(/^No data from 2026-10-05 – 2026-10-11/);
  });

  it('is served at /api/report; a bad date is a 400 naming the parameter', async () => {
    const api = apiRoutes({ ...deps(), root: h.dir, env: {} });
    const auth = { authorized: false, tokenConfigured: false };
    const ok = await api('GET', new URL('http://x/api/report?since=2026-11-23&until=2026-11-29'), undefined, auth);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ cycles: [{ cycle: '2026-W48', points: 8 }] });
    const bad = await api('GET', new URL('http://x/api/report?since=yesterday'), undefined, auth);
    expect(bad).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^since: expected a date/) } });
  });
});

/** `factory-mcp report` in its own process on the seeded database file. */
async function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [CLI, 'report', '--db', h.db, ...args], { cwd: h.dir, env: { ...process.env, FACTORY_LOG: 'silent', FACTORY_DB: '' } });
    return { code: 0, ...r };
  } catch (e) {
    return e as { code: number; stdout: string; stderr: string };
  }
}

describe('factory-mcp report', () => {
  it('--json prints the same figures as the service', async () => {
    const r = await report(['--since', '2026-11-23', '--until', '2026-11-30', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(await cycleReport(deps(), { since: '2026-11-23', until: '2026-11-30' }));
  });

  it('--markdown (the default) prints the table, and a period with no data says so', async () => {
    const r = await report(['--since', '2026-11-23', '--until', '2026-11-30', '--markdown']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('## Cycle report 2026-11-23 – 2026-11-30');
    expect(r.stdout).toContain('| cycle | duration | points | velocity (pts/day) | issues closed (phases / tickets) | PRs merged | components touched | regressions on main |');
    expect(r.stdout).toContain('| 2026-W48 | 7d | 8 | 1.14 | 2 / 3 | 2 | docs, src | 0 |');
    expect(r.stdout).toContain('| 2026-W49 | 1d | 2 | 2 | 1 / 0 | 0 | ui | 1 |');
    expect(r.stdout).toContain('| total | 8d | 10 | 1.25 | 3 / 3 | 2 | docs, src, ui | 1 |');
    const empty = await report(['--since', '2026-10-05', '--until', '2026-10-11']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('No data from 2026-10-05 – 2026-10-11');
  });

  it('exits 2 naming the option on a bad date or both formats', async () => {
    const bad = await report(['--until', 'tomorrow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/factory-mcp report: --until: expected a date YYYY-MM-DD/);
    const both = await report(['--json', '--markdown']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--json: give --json or --markdown, not both');
  });
});
