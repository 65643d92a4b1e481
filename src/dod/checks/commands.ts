/** compiles and format: the component's command must exit 0 (format: a formatting diff is a failure). */
import { clipDetail, excerpt, type Verdict } from '../domain.js';
import type { Component } from '../components.js';
import type { ComponentCheck, Run } from './check.js';
import { broken, capped, commandOf, cwdOf } from './exec.js';

async function exitsZero(run: Run, c: Component, check: 'compiles' | 'format'): Promise<Verdict> {
  const spec = commandOf(c, check);
  if (!Array.isArray(spec)) return spec;
  const r = await run.exec(spec, cwdOf(c, run.root), c.timeoutMs);
  const bad = broken(r, c, check);
  if (bad) return bad;
  if (r.exitCode === 0) return { status: 'pass', detail: `${spec.join(' ')}: ok${capped(run, r)}` };
  const what = check === 'format' ? 'reports a formatting diff' : `exited ${r.exitCode}`;
  return { status: 'fail', detail: clipDetail(`${spec.join(' ')} ${what}: ${excerpt(r.output)}${capped(run, r)}`) };
}

export const compiles: ComponentCheck = {
  per: 'component',
  ids: ['compiles'],
  judge: async (run, c) => ({ compiles: await exitsZero(run, c, 'compiles') }),
};

export const format: ComponentCheck = {
  per: 'component',
  ids: ['format'],
  judge: async (run, c) => ({ format: await exitsZero(run, c, 'format') }),
};
