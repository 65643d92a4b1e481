/**
 * tests and no_regressions, decided by one run of the component's test command, after the checks
 * it waits for (`after`, the build by default). tests: the command exits 0 (and line coverage
 * reaches thresholds.min_coverage); no_regressions: no test that passed on the base fails now,
 * read from the test report (JUnit XML or vitest/jest JSON) against the baseline.
 */
import fs from 'node:fs';
import path from 'node:path';
import { clipDetail, coveragePct, excerpt, parseTestReport, regressions, type TestOutcomes, type Verdict } from '../domain.js';
import type { Component } from '../components.js';
import type { ComponentCheck, Run } from './check.js';
import { broken, capped, commandOf, cwdOf } from './exec.js';
import { baselineOf } from './baseline.js';

type Outcome = { tests: Verdict; no_regressions: Verdict };

async function testRun(run: Run, c: Component): Promise<Outcome> {
  const { root, base } = run;
  const spec = commandOf(c, 'tests');
  if (!Array.isArray(spec)) return { tests: spec, no_regressions: spec };
  const dir = cwdOf(c, root);
  const reportFile = c.testReport ? path.resolve(dir, c.testReport) : null;
  if (reportFile) fs.rmSync(reportFile, { force: true }); // never read a stale report
  const r = await run.exec(spec, dir, c.timeoutMs);
  const bad = broken(r, c, 'tests');
  if (bad) return { tests: bad, no_regressions: { status: 'error', detail: `tests did not run to the end: ${bad.detail}` } };
  let now: TestOutcomes | null = null;
  let reportError: string | null = null;
  if (reportFile) {
    try {
      now = parseTestReport(fs.readFileSync(reportFile, 'utf8'));
    } catch (e) {
      reportError = (e as Error).message;
    }
  }
  const failing = now?.failed.length ? `failing: ${now.failed.slice(0, 10).join('; ')} | ` : '';
  let tests: Verdict =
    r.exitCode === 0
      ? { status: 'pass', detail: `${spec.join(' ')}: ok${capped(run, r)}` }
      : { status: 'fail', detail: clipDetail(`${spec.join(' ')} exited ${r.exitCode}: ${failing}${excerpt(r.output)}${capped(run, r)}`) };
  if (tests.status === 'pass' && c.thresholds.min_coverage !== undefined) {
    const file = path.resolve(dir, c.thresholds.coverage_summary ?? 'coverage/coverage-summary.json');
    try {
      const pct = coveragePct(fs.readFileSync(file, 'utf8'));
      tests =
        pct >= c.thresholds.min_coverage
          ? { status: 'pass', detail: `${tests.detail}; coverage ${pct}% ≥ ${c.thresholds.min_coverage}%` }
          : { status: 'fail', detail: `tests pass but line coverage ${pct}% is below the minimum ${c.thresholds.min_coverage}%` };
    } catch (e) {
      tests = { status: 'error', detail: clipDetail(`coverage summary ${path.relative(root, file)} unreadable: ${(e as Error).message}`) };
    }
  }
  // no_regressions
  if (reportError !== null) return { tests, no_regressions: { status: 'error', detail: clipDetail(`test report ${c.testReport} not usable after the run: ${reportError}`) } };
  if (!now) {
    return {
      tests,
      no_regressions:
        r.exitCode === 0
          ? { status: 'pass', detail: `no failing tests (set ${c.where}.test_report to name regressions)` }
          : { status: 'error', detail: `tests fail and no test report is configured, so regressions cannot be told from new failures: set ${c.where}.test_report` },
    };
  }
  if (!now.failed.length) return { tests, no_regressions: { status: 'pass', detail: `${now.passed.length} tests, none failing` } };
  const b = await baselineOf(run, c);
  if ('error' in b) return { tests, no_regressions: { status: 'error', detail: b.error } };
  if (!b.passed_tests) return { tests, no_regressions: { status: 'error', detail: `the baseline on ${base?.slice(0, 12)} wrote no test report` } };
  const reg = regressions(b.passed_tests, now);
  return {
    tests,
    no_regressions: reg.length
      ? { status: 'fail', detail: clipDetail(`${reg.length} test(s) passed on ${base?.slice(0, 12)} and fail now: ${reg.join('; ')}`) }
      : { status: 'pass', detail: `${now.failed.length} failing test(s), none passed on ${base?.slice(0, 12)}` },
  };
}

export const tests: ComponentCheck = {
  per: 'component',
  ids: ['tests', 'no_regressions'],
  after: (c) => c.after,
  judge: testRun,
};
