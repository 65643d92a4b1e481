/**
 * classify_change on a synthetic range of 5,000 changed files, as a ratio to `git diff --numstat`
 * of the same range measured in the same run (the floor: git has to diff the files either way).
 * Run: npm run build && node dist/bench/classify.js [--files 5000] [--runs 7]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config.js';
import { classifyChange } from '../src/classify.js';
import { git } from '../src/integrations/git.js';
import { DIFF_ARGS, gitChanges } from '../src/integrations/changes.js';
import { parseUnifiedDiff } from '../src/domain/diff.js';
import { classify, compileRules } from '../src/domain/risk.js';

const { values } = parseArgs({ options: { files: { type: 'string', default: '5000' }, runs: { type: 'string', default: '7' } } });
const N = Number(values.files);
const RUNS = Number(values.runs);

const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
const sh = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, env, encoding: 'utf8', maxBuffer: 1 << 30 });

/** Where file i lives: a mix of the areas the rules look at. */
function pathOf(i: number): string {
  const areas = ['docs/guide', 'src/core', 'test/unit', 'src/auth', 'db/migrations', 'src/api', 'config', 'lib'];
  const area = areas[i % areas.length] as string;
  const ext = area.startsWith('docs') ? 'md' : area.startsWith('db') ? 'sql' : area === 'config' ? 'json' : area.startsWith('test') ? 'test.ts' : 'ts';
  return `${area}/m${Math.floor(i / 100)}/file ${i}.${ext}`;
}
const body = (i: number, v: number) => Array.from({ length: 12 }, (_, k) => (k === 3 || k === 8 ? `  const value${k} = ${i * v + k}; // changed in v${v}` : `  line ${k} of file ${i}`)).join('\n') + '\n';

function makeRange(dir: string): { base: string; head: string } {
  sh(dir, 'init', '-q', '-b', 'main');
  for (let i = 0; i < N; i++) {
    const p = path.join(dir, pathOf(i));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, body(i, 1));
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'base');
  const base = sh(dir, 'rev-parse', 'HEAD').trim();
  for (let i = 0; i < N; i++) {
    const p = path.join(dir, pathOf(i));
    if (i % 25 === 0) fs.renameSync(p, `${p}.moved`); // 4% pure renames
    else if (i % 97 === 0) fs.rmSync(p); // about 1% deleted
    else fs.writeFileSync(p, i % 10 === 0 ? `export function f${i}() {}\n${body(i, 2)}` : body(i, 2));
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'head');
  return { base, head: sh(dir, 'rev-parse', 'HEAD').trim() };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'factory-bench-classify-'));
  try {
    const { base, head } = makeRange(dir);
    const config = parseConfig({});
    const rules = compileRules(config.changes);
    const changes = await gitChanges(dir, { base, head });
    const first = await classifyChange({ root: dir, config }, { base, head });
    const numstat: number[] = [];
    const full: number[] = [];
    const engine: number[] = [];
    const gitOnly: number[] = [];
    const parse: number[] = [];
    const rawOut = await git(dir, [...DIFF_ARGS, base, head, '--']);
    for (let r = 0; r < RUNS; r++) {
      // Interleaved so that load from others on the machine hits both alike.
      numstat.push(await time(() => git(dir, ['diff', '--numstat', base, head])));
      full.push(await time(() => classifyChange({ root: dir, config }, { base, head })));
      engine.push(await time(async () => classify(changes.files, rules)));
      gitOnly.push(await time(() => git(dir, [...DIFF_ARGS, base, head, '--'])));
      parse.push(await time(async () => parseUnifiedDiff(rawOut)));
    }
    const m = { numstat: median(numstat), classify: median(full), engine: median(engine), git: median(gitOnly), parse: median(parse) };
    const out = {
      files: first.stats.files,
      lines: first.stats.additions + first.stats.deletions,
      level: first.level,
      runs: RUNS,
      numstat_ms: +m.numstat.toFixed(1),
      classify_ms: +m.classify.toFixed(1),
      of_which: { git_diff_patch_ms: +m.git.toFixed(1), parse_ms: +m.parse.toFixed(1), rule_engine_ms: +m.engine.toFixed(1) },
      ratio: +(m.classify / m.numstat).toFixed(2),
      best_of: { numstat_ms: +Math.min(...numstat).toFixed(1), classify_ms: +Math.min(...full).toFixed(1), ratio: +(Math.min(...full) / Math.min(...numstat)).toFixed(2) },
      target: 1.5,
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((x) => +x.toFixed(2)),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
