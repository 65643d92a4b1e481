/**
 * lint: the component's lint command exits 0 and adds no warning (a line matching its
 * warning_pattern) beyond those on the base commit; with thresholds.zero_warnings, any warning fails.
 */
import { clipDetail, excerpt, lintWarnings, newWarnings, type Verdict } from '../domain.js';
import type { Component } from '../components.js';
import type { ComponentCheck, Run } from './check.js';
import { broken, capped, commandOf, cwdOf } from './exec.js';
import { baselineOf } from './baseline.js';

async function lintVerdict(run: Run, c: Component): Promise<Verdict> {
  const { root, base } = run;
  const spec = commandOf(c, 'lint');
  if (!Array.isArray(spec)) return spec;
  const dir = cwdOf(c, root);
  const r = await run.exec(spec, dir, c.timeoutMs);
  const bad = broken(r, c, 'lint');
  if (bad) return bad;
  if (r.exitCode !== 0) return { status: 'fail', detail: clipDetail(`${spec.join(' ')} exited ${r.exitCode}: ${excerpt(r.output)}${capped(run, r)}`) };
  const warnings = lintWarnings(r.output, c.warningPattern, [dir, root]);
  if (!warnings.length) return { status: 'pass', detail: `${spec.join(' ')}: no warnings${capped(run, r)}` };
  if (c.thresholds.zero_warnings) return { status: 'fail', detail: clipDetail(`${warnings.length} warning(s) and zero_warnings is set: ${warnings.slice(0, 5).join(' | ')}`) };
  const b = await baselineOf(run, c);
  if ('error' in b) return { status: 'error', detail: `${warnings.length} warning(s) and no baseline to compare: ${b.error}` };
  const added = newWarnings(warnings, b.warnings ?? []);
  return added.length
    ? { status: 'fail', detail: clipDetail(`${added.length} new warning(s) vs ${base?.slice(0, 12)}: ${added.slice(0, 5).join(' | ')}`) }
    : { status: 'pass', detail: `${warnings.length} warning(s), none new vs ${base?.slice(0, 12)}` };
}

export const lint: ComponentCheck = {
  per: 'component',
  ids: ['lint'],
  judge: async (run, c) => ({ lint: await lintVerdict(run, c) }),
};
