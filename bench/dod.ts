/**
 * check_dod on the sample repository versus the same four commands run in sequence by a plain
 * shell script, in the same run; then a repeat on the unchanged tree (answered from the cache).
 * Run: npm run build && node dist/bench/dod.js
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/core/config.js';
import { checkDod } from '../src/dod/service.js';
import { runCommand } from '../src/integrations/run.js';
import { Store } from '../src/core/store.js';
import { makeSampleRepo, sampleConfig } from './dod-sample.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function benchDod(rounds = 5): Promise<{ dodMs: number; shellMs: number; ratio: number; cachedMs: number }> {
  const repo = makeSampleRepo();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-dod-bench-'));
  const config = parseConfig({ dod: { ...sampleConfig(), concurrency: Number(process.env.DOD_CONCURRENCY ?? 3) } });
  const store = await Store.open(path.join(tmp, 'factory.db'), { leaseSeconds: config.lease_seconds });
  const env = { ...process.env };
  delete env.GITHUB_TOKEN; // the PR/CI checks answer at once without a token; the bench is about the commands
  const deps = { store, config, root: repo.dir, clock: Date.now, env };
  const c = config.dod.components[0]!.commands;
  const q = (argv: string[]) => argv.map((a) => `'${a}'`).join(' ');
  const script = path.join(tmp, 'dod.sh');
  fs.writeFileSync(script, `set -u\ncd '${repo.dir}'\n${[c.compiles, c.tests, c.lint, c.format].map((a) => q(a as string[])).join('\n')}\n`);
  try {
    await checkDod(deps, {}, { cache: false }); // warm-up: records the lint baseline of main once
    const dod: number[] = [];
    const shell: number[] = [];
    for (let i = 0; i < rounds; i++) {
      dod.push(await time(() => checkDod(deps, {}, { cache: false })));
      shell.push(await time(() => runCommand(['sh', script], { cwd: repo.dir, timeoutMs: 120_000 })));
    }
    await checkDod(deps, {}); // fills the cache
    const cached: number[] = [];
    for (let i = 0; i < 5; i++) cached.push(await time(() => checkDod(deps, {})));
    const dodMs = median(dod);
    const shellMs = median(shell);
    return { dodMs, shellMs, ratio: dodMs / shellMs, cachedMs: median(cached) };
  } finally {
    await store.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(repo.dir, { recursive: true, force: true });
  }
}

const r = await benchDod();
console.log(`dod full run (parallel, no cache): ${r.dodMs.toFixed(0)} ms`);
console.log(`same commands by a shell script in sequence: ${r.shellMs.toFixed(0)} ms`);
console.log(`ratio: ${r.ratio.toFixed(2)}x (target <= 0.8x)`);
console.log(`repeat on the unchanged tree (cached): ${r.cachedMs.toFixed(1)} ms (target <= 50 ms)`);
