/**
 * A branch and a worktree per claim (issue 15): `claim_phase` with `phases.worktrees` on, round
 * trip over stdio, against `git worktree add -b` alone on the same repository (the floor: the
 * checkout has to be written either way), interleaved in the same run; the ratio of the medians.
 * The repository has FILES files (default 400) and a bare origin with origin/HEAD.
 * Run: npm run build && node dist/bench/worktrees.js [--files 400] [--runs 15]
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, connect, fmt, isMain, time } from './lib.js';

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
const sh = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8' });
const gitAsync = (cwd: string, ...args: string[]) => new Promise<void>((resolve, reject) => execFile('git', args, { cwd, env }, (e) => (e ? reject(e) : resolve())));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** A repository of `files` source files in 20 folders, pushed to a bare origin whose HEAD is main. */
function sampleRepo(base: string, files: number): string {
  const bare = path.join(base, 'origin.git');
  const dir = path.join(base, 'repo');
  sh(base, 'init', '-q', '--bare', '-b', 'main', bare);
  sh(base, 'init', '-q', '-b', 'main', dir);
  for (let i = 0; i < files; i++) {
    const p = path.join(dir, `src/m${i % 20}/file${i}.ts`);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, Array.from({ length: 40 }, (_, k) => `export const v${k} = ${i * k}; // line ${k} of file ${i}`).join('\n') + '\n');
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'sample');
  sh(dir, 'remote', 'add', 'origin', bare);
  sh(dir, 'push', '-q', 'origin', 'main');
  sh(dir, 'remote', 'set-head', 'origin', 'main');
  fs.writeFileSync(path.join(dir, 'factory.config.json'), JSON.stringify({ phases: { worktrees: true } }));
  return dir;
}

export async function worktreesBench(files: number, runs: number) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-worktrees-'));
  try {
    const dir = sampleRepo(base, files);
    const f = await connect(CLI, { FACTORY_DB: path.join(dir, '.factory', 'factory.db') }, ['--cwd', dir]);
    await f.client.callTool({ name: 'plan_mega', arguments: { key: 'W-1', title: 'bench', phases: Array.from({ length: runs + 2 }, (_, i) => ({ id: i + 1, name: `phase ${i + 1}` })) } });
    const floorDir = path.join(base, 'floor');
    fs.mkdirSync(floorDir);
    const claim: number[] = [];
    const floor: number[] = [];
    // one of each first (warm caches, the server's first git call), not counted
    await gitAsync(dir, 'worktree', 'add', '-q', '--no-track', '-b', 'floor/0', path.join(floorDir, '0'), 'refs/remotes/origin/HEAD');
    await f.client.callTool({ name: 'claim_phase', arguments: { mega: 'W-1', phase: runs + 1 } });
    let checked = false;
    for (let i = 1; i <= runs; i++) {
      // alternate the order so drift hits both alike
      const a = () => time(() => gitAsync(dir, 'worktree', 'add', '-q', '--no-track', '-b', `floor/${i}`, path.join(floorDir, String(i)), 'refs/remotes/origin/HEAD')).then((t) => floor.push(t));
      let answer: { worktree?: string } = {};
      const b = () =>
        time(async () => {
          answer = (await f.client.callTool({ name: 'claim_phase', arguments: { mega: 'W-1', phase: i } })).structuredContent as { worktree?: string };
        }).then((t) => claim.push(t));
      if (i % 2) {
        await a();
        await b();
      } else {
        await b();
        await a();
      }
      if (!checked) {
        if (!answer.worktree || !fs.existsSync(path.join(answer.worktree, 'src/m0/file0.ts'))) throw new Error(`claim_phase made no worktree: ${JSON.stringify(answer)}`);
        checked = true;
      }
    }
    await f.client.close();
    const m = { claim: median(claim), floor: median(floor) };
    return {
      files,
      runs,
      git_worktree_add_ms: +fmt(m.floor, 1),
      claim_phase_with_worktree_ms: +fmt(m.claim, 1),
      ratio: +(m.claim / m.floor).toFixed(2),
      best_of: { git_worktree_add_ms: +fmt(Math.min(...floor), 1), claim_phase_with_worktree_ms: +fmt(Math.min(...claim), 1), ratio: +(Math.min(...claim) / Math.min(...floor)).toFixed(2) },
      target: 1.3,
      loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { files: { type: 'string', default: '400' }, runs: { type: 'string', default: '15' } } });
  const out = await worktreesBench(Number(values.files), Number(values.runs));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
