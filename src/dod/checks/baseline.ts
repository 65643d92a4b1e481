/**
 * A component's baseline: which tests passed and which lint warnings there were on the base commit,
 * run once in a temporary worktree and kept per base and config. Asked lazily, only when a failing
 * test or a lint warning needs comparing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lintWarnings, parseTestReport } from '../domain.js';
import type { Baseline } from '../store.js';
import { tempWorktree } from '../repo.js';
import type { Component } from '../components.js';
import type { Run } from './check.js';
import { cwdOf } from './exec.js';

export function baselineOf(run: Run, c: Component): Promise<Baseline | { error: string }> {
  return run.once(`baseline\0${c.name}`, () => measure(run, c).catch((e: unknown) => ({ error: `baseline failed: ${(e as Error).message}` })));
}

async function measure(run: Run, c: Component): Promise<Baseline | { error: string }> {
  const { store, root, base } = run;
  if (!base) return { error: run.noBase };
  const have = await store.dod.baseline(base, c.key, c.name);
  if (have) return have;
  const wt = await tempWorktree(root, base);
  try {
    const dir = cwdOf(c, wt.dir);
    if (!fs.existsSync(dir)) {
      // The component is new in this change: nothing passed or warned before it.
      const empty: Baseline = { passed_tests: [], warnings: [] };
      await store.tx(() => store.dod.putBaseline(base, c.key, c.name, empty, run.clock()));
      return empty;
    }
    const testsCmd = c.commands.tests;
    const lintCmd = c.commands.lint;
    const reportFile = c.testReport ? path.resolve(dir, c.testReport) : null;
    const [t, l] = await Promise.all([testsCmd && reportFile ? run.exec(testsCmd, dir, c.timeoutMs) : null, lintCmd ? run.exec(lintCmd, dir, c.timeoutMs) : null]);
    for (const r of [t, l]) if (r && (r.cancelled || r.timedOut || r.spawnError)) return { error: `baseline on ${base.slice(0, 12)}: ${r.spawnError ?? (r.cancelled ? 'cancelled' : 'timed out')}` };
    let passed: string[] | null = null;
    if (reportFile && fs.existsSync(reportFile)) {
      try {
        passed = parseTestReport(fs.readFileSync(reportFile, 'utf8')).passed;
      } catch {
        passed = null;
      }
    }
    const b: Baseline = { passed_tests: passed, warnings: l ? lintWarnings(l.output, c.warningPattern, [dir, wt.dir]) : null };
    await store.tx(() => store.dod.putBaseline(base, c.key, c.name, b, run.clock()));
    return b;
  } finally {
    await wt.dispose();
  }
}
